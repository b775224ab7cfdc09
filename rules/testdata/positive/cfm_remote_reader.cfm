<cffunction name="rd" access="remote" output="true" returntype="any">
  <cfargument name="p" type="string" required="true">
  <cffile action="read" file="#arguments.p#" variable="c">
  <cfoutput>#c#</cfoutput>
</cffunction>
