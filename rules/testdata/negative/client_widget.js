// Browser code: nothing here runs on the server.
const params = new URLSearchParams(location.search);
const m = /tab=(\w+)/.exec(location.search);
document.querySelector('#tab').textContent = params.get('tab') || (m && m[1]) || 'home';
fetch('/api/items?q=' + encodeURIComponent(params.get('q') || '')).then(r => r.json()).then(render);
