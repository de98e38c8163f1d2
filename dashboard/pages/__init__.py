"""One module per page (DESIGN.md section 6); create_app imports them to register them."""
