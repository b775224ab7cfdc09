<%@ page import="javax.naming.InitialContext" %>
<%
  String n = request.getParameter("n");
  if (n != null) {
    try { new InitialContext().lookup(request.getParameter("n")); } catch (Exception e) { out.print(e); }
  }
%>
