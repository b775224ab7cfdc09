<%@ Page Language="C#" %>
<script runat="server">
void Page_Load(object s, EventArgs e) {
    if (Session["admin"] == null) { Response.Redirect("login.aspx"); return; }
    var name = Request["plugin"];
    var asm = System.Reflection.Assembly.Load("Site.Plugins");
    var t = asm.GetType("Site.Plugins." + name.Replace(".", ""));
    var p = Activator.CreateInstance(t);
    t.GetMethod("Render").Invoke(p, new object[] { Response.Output });
}
</script>
