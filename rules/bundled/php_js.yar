/*
 * shellwatch bundled rules: JavaScript and HTML injected into pages
 * (behaviour).
 *
 * What attackers add to PHP/HTML pages of a site they own: script tags
 * decoded from character codes, redirects of search-engine visitors
 * (cloaking), script/iframe includes from outside hosts that are hidden
 * or delivered through URL shorteners, marker-delimited injection blocks
 * and hidden link farms. These rules run on every file type, so each
 * was checked against the JavaScript, HTML and template files of the
 * Debian web packages as well as against PHP.
 */

/* A "<script" or "<iframe" tag spelled as character codes and decoded at
   run time (String.fromCharCode(60,115,99,114,105,112,116,...)) or as
   \x escapes, then written into the page (document.write, eval,
   innerHTML): the classic injected loader.
   The writer must be within 300 bytes before or 6 KB after the codes.
   Benign: libraries build tags with createElement or plain strings; no
   Debian or benign-web file encodes "<script"/"<iframe" as char codes. */
rule js_charcode_tag_writer
{
    meta:
        severity = "high"
        family = "js_injection"
        description = "<script>/<iframe> tag hidden as String.fromCharCode codes or \\x escapes and written into the page: injected loader"
    strings:
        // character codes of "<script" / "<iframe"
        $c = /fromCharCode\s*\(\s*60\s*,\s*(115\s*,\s*99\s*,\s*114\s*,\s*105\s*,\s*112\s*,\s*116|105\s*,\s*102\s*,\s*114\s*,\s*97\s*,\s*109\s*,\s*101)\b/
        // \x escapes of "<script" / "<iframe"
        $x = /\\x3c\\x(73\\x63\\x72\\x69\\x70\\x74|69\\x66\\x72\\x61\\x6d\\x65)/ nocase
        $w1 = "document.write"
        $w2 = "eval("
        $w3 = "innerHTML"
        $w4 = "outerHTML"
        $w5 = "insertAdjacentHTML"
    condition:
        filesize < 5MB and #c + #x < 100 and
        (for any i in (1..#c) : (for any of ($w*) : ($ in (@c[i] - 300 .. @c[i] + 6000))) or
         for any i in (1..#x) : (for any of ($w*) : ($ in (@x[i] - 300 .. @x[i] + 6000))))
}

/* Search-engine cloaking redirect: the visitor's document.referrer (or
   user agent) is tested for search engines and the browser is sent to
   an absolute http(s) URL, so that searchers land on the spam site while
   the owner browsing directly sees nothing. The redirect must follow
   the search-engine test within 200 bytes (inside its if-block).
   Benign: referrer checks in analytics/search-highlight code do not
   navigate to another absolute URL right after the test (checked:
   Roundcube, WordPress, MediaWiki, phpMyAdmin scripts; negative fixture
   search_terms_highlight.js has a redirect further down, in a handler). */
rule js_search_referrer_redirect
{
    meta:
        severity = "high"
        family = "js_injection"
        description = "referrer/user-agent tested for search engines (google, baidu, yahoo, bing...) and the visitor redirected to an absolute URL: SEO cloaking"
    strings:
        $ref = /document\.referrer|navigator\.userAgent/
        $se = /\.(indexOf|search|match)\s*\(\s*\/?["']?([Gg]oogle|[Bb]aidu|[Yy]ahoo|[Bb]ing|[Yy]andex|[Ss]ogou|[Ss]oso|[Yy]oudao|so\.com|sm\.cn|360\.cn|[Aa]ol)/
        $rx = /\/[a-z0-9|.\\()]{0,40}(google|baidu|yahoo|bing|yandex|sogou|soso)[a-z0-9|.\\()]{0,60}\/[gim]{0,3}\.test\s*\(/ nocase
        $go1 = /location(\.href)?\s*=\s*\\?["']https?:\/\//
        $go2 = /location\.replace\s*\(\s*\\?["']https?:\/\//
        $go3 = /window\.open\s*\(\s*\\?["']https?:\/\//
    condition:
        filesize < 5MB and #ref < 300 and #se < 300 and #rx < 300 and (
            for any j in (1..#se) : (
                $ref in (@se[j] - 400 .. @se[j]) and
                for any of ($go*) : ($ in (@se[j] .. @se[j] + 200))) or
            for any j in (1..#rx) : (
                $ref in (@rx[j] - 300 .. @rx[j] + 300) and
                for any of ($go*) : ($ in (@rx[j] .. @rx[j] + 250)))
        )
}

/* Server-side search-engine cloaking: the request's Referer is tested
   for search engines and the visitor is sent away with a Location
   header to an absolute URL (the spam site), while visitors typing the
   address see the normal page.
   Benign look-alike: search-term analytics parse HTTP_REFERER for
   engines but do not redirect to another absolute URL right after; a
   redirect to "https://" . $host (the site itself) is not counted. */
rule php_search_referrer_redirect
{
    meta:
        severity = "medium"
        family = "php_seo_spam"
        description = "HTTP_REFERER tested for search engines (google, baidu, yahoo, bing...) and the visitor redirected to an absolute URL: server-side cloaking"
    strings:
        $ref = /\$_SERVER\s*\[\s*["']HTTP_REFERER["']\s*\]/
        $se = /["'\/|(](google|baidu|yahoo|bing|yandex|sogou|soso|so\.com|sm\.cn)[."'\/|)]/ nocase
        $go = /header\s*\(\s*["']Location:\s*https?:\/\/[a-z0-9]/ nocase
    condition:
        filesize < 2MB and #ref < 100 and #se < 1000 and
        for any i in (1..#ref) : (
            $se in (@ref[i] - 200 .. @ref[i] + 300) and $go in (@ref[i] .. @ref[i] + 800)
        )
}

/* Marker-delimited injection block: the mass-infection tools wrap what
   they add to every PHP file in "<?php #<6 hex>#" ... "#/<6 hex>#"
   comments so that they can replace it later; the block echoes a
   <script>/<iframe> pointing to another host. The regex starts at the
   PHP open tag so that its atom is "<?php", not the <script tags of
   every HTML page (an earlier form anchored on the tag took seconds on
   script-heavy pages).
   Benign: no code base brackets output with hex-id comment markers. */
rule php_marker_injected_block
{
    meta:
        severity = "high"
        family = "js_injection"
        description = "\"<?php #abc123#\" injection block that prints a <script>/<iframe> from another host (mass-infection marker)"
    strings:
        $blk = /<\?php\s{1,4}#[0-9a-f]{6}#[^#]{0,100}<(script|iframe)[^>]{0,160}src\s*=\s*\\?["']?https?:\/\// nocase
    condition:
        filesize < 5MB and $blk
}

/* Script loaded through a URL shortener (bit.ly, is.gd, goo.gl,
   tinyurl...): the injector hides the real host and can change it at
   will. Any src= attribute pointing at a shortener is matched (script,
   iframe, img: application code does not load anything from one).
   Benign pages load scripts from their own or a CDN's host. */
rule js_shortener_script_src
{
    meta:
        severity = "high"
        family = "js_injection"
        description = "src= of a script/iframe/image pointing at a URL shortener (bit.ly, is.gd, goo.gl, tinyurl...): hidden injected include"
    strings:
        $s = /src\s*=\s*\\?["']?(https?:)?\/\/(bit\.ly|is\.gd|goo\.gl|tinyurl\.com|t\.co|ow\.ly|cutt\.ly|v\.gd|shorturl\.at|rb\.gy|tiny\.cc|bitly\.com|t\.cn|dwz\.cn|u\.to|clck\.ru)\// nocase
    condition:
        filesize < 5MB and $s
}

/* Invisible iframe to another host written by script: document.write,
   echo or print of an <iframe> with an absolute http(s) src that is
   zero/one pixel or hidden by style (drive-by and traffic-sale
   injections are emitted this way).
   Benign look-alikes checked: hidden iframes used as form/upload targets
   (no src, about:blank or a relative src), Google Tag Manager's
   <noscript> iframe printed by CMS plugins (excluded by host). Plain
   HTML pages with hidden iframes are not matched: a benign-web ASP page
   holds five zero-size iframes to its vendors' sites, a shape that
   cannot be told apart from an injection without the script step. */
rule html_hidden_external_iframe
{
    meta:
        severity = "medium"
        family = "js_injection"
        description = "script-written (document.write/echo/print) zero-size or hidden <iframe> loading an absolute URL on another host"
    strings:
        $a = /(document\.write(ln)?\s*\(|\becho\b|\bprint\b)\s*\(?\s*\\?["'][^"'\n]{0,40}<iframe[^>]{0,160}src\s*=\s*\\?["']?https?:\/\/[^>]{0,200}(\swidth\s*=\s*\\?["']?[01]\\?["' >]|\sheight\s*=\s*\\?["']?[01]\\?["' >]|visibility\s*:\s*hidden|display\s*:\s*none)/ nocase
        $b = /(document\.write(ln)?\s*\(|\becho\b|\bprint\b)\s*\(?\s*\\?["'][^"'\n]{0,40}<iframe[^>]{0,160}(\swidth\s*=\s*\\?["']?[01]\\?["' ]|\sheight\s*=\s*\\?["']?[01]\\?["' ]|visibility\s*:\s*hidden|display\s*:\s*none)[^>]{0,200}src\s*=\s*\\?["']?https?:\/\// nocase
        $gtm = /(googletagmanager\.com|doubleclick\.net|facebook\.com\/tr|youtube\.com\/embed)/ nocase
    condition:
        filesize < 5MB and ($a or $b) and not $gtm
}

/* Hidden link farm: a block moved off screen (position:absolute with a
   large negative top/left) or hidden (display:none / visibility:hidden)
   followed by a run of bare links to absolute URLs (SEO spam injected
   into a site's pages): 5 anchor-to-anchor joins with only separators
   between ("</a> | <a href=http") within 3 KB of an off-screen style, 14
   within 3 KB of a hidden one. Links woven into sentences are not a run:
   a benign-web ASP page hides a paragraph of its vendor's links off
   screen, prose between the anchors, and is not matched.
   Benign look-alikes checked: hidden drop-down menus (<li> items on their
   own lines) and short hidden footers (negative fixture dropdown_menu.html);
   screen-reader-only blocks hold skip links to #anchors, not runs of
   absolute URLs. */
rule html_hidden_link_farm
{
    meta:
        severity = "medium"
        family = "php_seo_spam"
        description = "off-screen or hidden block followed by a run of bare links to absolute URLs: injected SEO link farm"
    strings:
        $off = /(top|left)\s*:\s*-[0-9]{3,5}px/ nocase
        $hid1 = "display:none" nocase
        $hid2 = "display: none" nocase
        $hid3 = "visibility:hidden" nocase
        $hid4 = "visibility: hidden" nocase
        $adj = /<\/a>[\s|,\/\-]{0,6}<a\s+href\s*=\s*\\?["']https?:\/\// nocase
    condition:
        filesize < 2MB and #adj < 5000 and #off < 100 and #hid1 + #hid2 + #hid3 + #hid4 < 1000 and (
            for any j in (1..#adj) : (
                @adj[j + 4] - @adj[j] < 3000 and $off in (@adj[j] - 3000 .. @adj[j])) or
            for any j in (1..#adj) : (
                @adj[j + 13] - @adj[j] < 3000 and
                for any of ($hid*) : ($ in (@adj[j] - 3000 .. @adj[j])))
        )
}
