<%@ page import="java.lang.reflect.Field,java.util.Map,org.apache.catalina.core.StandardContext,org.apache.catalina.core.ApplicationContext" %>
<%
  // Lists the filters registered in this context (audit page); registers nothing.
  ServletContext sc = request.getServletContext();
  Field f = sc.getClass().getDeclaredField("context"); f.setAccessible(true);
  ApplicationContext ac = (ApplicationContext) f.get(sc);
  Field g = ac.getClass().getDeclaredField("context"); g.setAccessible(true);
  StandardContext std = (StandardContext) g.get(ac);
  Field fc = StandardContext.class.getDeclaredField("filterConfigs"); fc.setAccessible(true);
  Map<?, ?> filterConfigs = (Map<?, ?>) fc.get(std);
  String only = request.getParameter("name");
  for (Object k : filterConfigs.keySet()) {
    if (only == null || only.equals(k)) out.println(k + "<br>");
  }
%>
