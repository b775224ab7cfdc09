// Highlights the words a visitor searched for when arriving from a search engine.
(function () {
  var ref = document.referrer;
  if (ref.indexOf('google.') > -1 || ref.indexOf('bing.') > -1) {
    var m = ref.match(/[?&]q=([^&]+)/);
    if (m) {
      var words = decodeURIComponent(m[1].replace(/\+/g, ' ')).split(' ');
      highlightWords(document.body, words);
    }
  }
  var more = document.getElementById('more');
  if (more) {
    more.onclick = function () { window.location.href = "https://www.example.org/search"; };
  }
})();
