<cfset total = 0>
<cfloop from="1" to="#form.lines#" index="i">
  <cfset qty = Evaluate("form.qty_#i#")>
  <cfset price = Evaluate("form.price_#i#")>
  <cfset total = total + qty * price>
</cfloop>
<cfoutput>Total: #DollarFormat(total)#</cfoutput>
<cfset svc = createObject("component", "services.Mailer")>
