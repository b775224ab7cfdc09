<html>
<head><title>HaCkEd By Night Crew</title></head>
<body bgcolor="black">
<center><font color="red" size="7">Your security is zero</font>
<p style="color:lime">Greetz to all members</p></center>
</body>
</html>
