<%@ page import="java.io.File,java.util.List,org.apache.commons.fileupload.FileItem" %>
<%@ page import="org.apache.commons.fileupload.disk.DiskFileItemFactory,org.apache.commons.fileupload.servlet.ServletFileUpload" %>
<%
  if (session.getAttribute("userId") == null) { response.sendRedirect("login.jsp"); return; }
  if (ServletFileUpload.isMultipartContent(request)) {
    ServletFileUpload up = new ServletFileUpload(new DiskFileItemFactory());
    List<FileItem> items = up.parseRequest(request);
    for (FileItem item : items) {
      if (!item.isFormField() && item.getName().matches("[A-Za-z0-9_-]+\\.(png|jpg)")) {
        item.write(new File(application.getRealPath("/avatars"), session.getAttribute("userId") + ".png"));
      }
    }
  }
%>
<form method="post" enctype="multipart/form-data"><input type="file" name="avatar"><input type="submit"></form>
