/* VisitLens browser helpers, used by clientside callbacks (no inline scripts: CSP). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  visitlens: {
    /* Write the page's filters into the address bar without a reload (bookmarkable). */
    replaceQuery: function (search) {
      if (typeof search === "string" && window.location.search !== search) {
        window.history.replaceState(window.history.state, "",
          window.location.pathname + search);
      }
      return window.dash_clientside.no_update;
    },
    /* Make a server-paged grid ask for its rows again (the filters changed). */
    purgeGrid: function (version, gridId) {
      if (version && window.dash_ag_grid && window.dash_ag_grid.getApiAsync) {
        window.dash_ag_grid.getApiAsync(gridId).then(function (api) {
          api.purgeInfiniteCache();
        });
      }
      return window.dash_clientside.no_update;
    }
  }
});
