<%
' template engine: evaluates {if} blocks of a stored template
Function ParseIf(strIf, strThen, strElse)
  Dim ifFlag
  Execute("if " & strIf & " then ifFlag=true else ifFlag=false")
  If ifFlag Then ParseIf = strThen Else ParseIf = strElse
End Function
Dim tpl : tpl = Application("tpl_index")
Response.Write ParseIf("1=1", tpl, "")
%>
