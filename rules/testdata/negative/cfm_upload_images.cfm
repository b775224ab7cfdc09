<cfif NOT structKeyExists(session, "userId")><cflocation url="login.cfm" addtoken="no"></cfif>
<cfset uploadDir = ExpandPath("/media/avatars/")>
<cfif structKeyExists(form, "photo") AND len(form.photo)>
  <cffile action="upload" filefield="photo" destination="#uploadDir#" accept="image/jpeg,image/png" nameconflict="makeunique">
  <cfquery datasource="#application.dsn#">
    UPDATE users SET avatar = <cfqueryparam value="#cffile.serverFile#" cfsqltype="cf_sql_varchar">
    WHERE id = <cfqueryparam value="#session.userId#" cfsqltype="cf_sql_integer">
  </cfquery>
</cfif>
