// The ipywidgets HTML manager typesets widget labels with MathJax 2's API,
// MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book loads MathJax 3, which has no Hub.
// This maps that call onto MathJax 3 once MathJax has started. Loaded deferred, after MathJax.
(function () {
  if (!window.MathJax || window.MathJax.Hub) {
    return;
  }
  window.MathJax.Hub = {
    Queue: function (job) {
      var element = Array.isArray(job) ? job[2] : undefined;
      var startup = window.MathJax.startup;
      if (!element || !startup || !startup.promise || !window.MathJax.typesetPromise) {
        return;
      }
      startup.promise.then(function () {
        return window.MathJax.typesetPromise([element]);
      });
    },
  };
})();
