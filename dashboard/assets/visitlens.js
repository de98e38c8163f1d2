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

/* The page's language is the server's choice (html lang), not the browser's. Dash's date
   pickers pick a date-fns locale from window.dateFns.locale by navigator.languages and
   fall back to the first one present (none: English): keep only the page's language. */
(function () {
  var lang = document.documentElement.lang || "en";
  var locales = (window.dateFns && window.dateFns.locale) || {};
  Object.keys(locales).forEach(function (key) {
    if (key.toLowerCase() !== lang.replace("-", "").toLowerCase()) {
      delete locales[key];
    }
  });
})();

/* AG Grid's texts in the page's language (grid option getLocaleText): the grid's own
   overrides (params.context.localeText, from the catalogs), else AG Grid's translation
   of the language (aggrid_<lang>.js), else its English default. */
window.dashAgGridFunctions = Object.assign({}, window.dashAgGridFunctions, {
  visitlensGridText: function (params) {
    var own = (params.context && params.context.localeText) || {};
    var table = (window.visitlensGridLocale || {})[document.documentElement.lang] || {};
    var text = own[params.key] !== undefined ? own[params.key] : table[params.key];
    if (text === undefined) {
      return params.defaultValue;
    }
    (params.variableValues || []).forEach(function (value) {
      text = text.replace("${variable}", value);
    });
    return text;
  }
});
