-- Name, deleted flag and address of the customers listed (one detail page's, at most a few
-- hundred). list_contains is a filter on the code column alone, so the scan reads names
-- and addresses of the matching rows only; a join would read them for every customer.
SELECT code, name, deleted, address
FROM customers
WHERE list_contains($codes::VARCHAR[], code)
