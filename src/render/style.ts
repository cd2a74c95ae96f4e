/** The look shared by every page and printable document outguard makes (no external resources). */
export const STYLE = `
*{box-sizing:border-box}
body{font-family:"Noto Sans CJK JP","Hiragino Sans","Yu Gothic UI",Meiryo,system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330;line-height:1.6}
main{max-width:960px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:1.5rem;margin:0 0 4px}
h2{font-size:1.15rem;margin:0 0 10px;border-bottom:2px solid #d5d9e0;padding-bottom:4px}
.en{color:#566074;font-size:.92em}
p .en,li .en,div.en,dd .en,label .en,footer .en,.deadline+.en{display:block}
h1 .en,h2 .en,strong .en{font-weight:normal;margin-left:.5em}
section.card{background:#fff;border:1px solid #d5d9e0;border-radius:8px;padding:16px 20px;margin:16px 0}
dl.summary{display:grid;grid-template-columns:fit-content(16em) minmax(0,1fr);gap:6px 16px;margin:0}
dl.summary dt{font-weight:bold}
dl.summary dd{margin:0;overflow-wrap:break-word;min-width:0}
dl.summary dd p{margin:6px 0 0}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #e3e6eb;padding:6px 8px;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#f0f2f5;font-size:.9em}
th .en{display:inline;margin-left:.3em}
td .en{display:block}
dt .en{display:inline;margin-left:.3em}
table.fixed{table-layout:fixed}
col.num{width:3em}col.address{width:55%}col.rule{width:13em}col.clause{width:8em}col.size{width:9em}col.hash{width:32%}
.addr,.mono{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.92em}
.ident{display:block;font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.78em;color:#566074}
.hash{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.78em;word-break:break-all;color:#3b4456}
.flag{display:inline-block;border-radius:4px;padding:0 6px;margin:1px 4px 1px 0;font-size:.85em;border:1px solid}
.flag.external{background:#fff4e0;border-color:#e0a040;color:#7a4a00}
.flag.first{background:#fff4e0;border-color:#e0a040;color:#7a4a00}
.flag.lookalike{background:#fde8e8;border-color:#d04040;color:#8a1010;font-weight:bold}
.flag.internal{background:#eaf3ea;border-color:#7fb07f;color:#24502a}
.sev-reject{color:#8a1010;font-weight:bold}.sev-hold{color:#7a4a00;font-weight:bold}.sev-monitor{color:#566074}
pre.body{white-space:pre-wrap;overflow-wrap:anywhere;background:#fbfbfc;border:1px solid #e3e6eb;border-radius:6px;padding:12px;max-height:32em;overflow:auto;font-family:"DejaVu Sans Mono","Noto Sans Mono CJK JP",monospace;font-size:.9em;margin:0}
.alert{border-radius:8px;padding:12px 16px;margin:16px 0;border:2px solid}
.alert.error{background:#fde8e8;border-color:#d04040}
.alert.ok{background:#eaf3ea;border-color:#4f9a57}
.alert.info{background:#eef3fb;border-color:#6f8fc7}
.deadline{font-weight:bold}
fieldset.checklist{border:2px solid #6f8fc7;border-radius:8px;padding:12px 16px;margin:0 0 12px;background:#f7f9fd}
fieldset.checklist legend{font-weight:bold;padding:0 6px}
fieldset.checklist label{display:flex;gap:10px;align-items:flex-start;padding:6px 0;cursor:pointer}
fieldset.checklist input{width:1.25em;height:1.25em;margin-top:.25em;flex:none}
.actions{display:flex;flex-wrap:wrap;gap:12px;align-items:center;margin-top:8px}
button{font:inherit;border-radius:6px;padding:8px 20px;cursor:pointer;border:1px solid #8a93a3;background:#fff}
button.send{background:#1f5fbf;border-color:#1f5fbf;color:#fff;font-weight:bold}
button.send:disabled{background:#a9b6cc;border-color:#a9b6cc;cursor:not-allowed}
button.discard{border-color:#8a1010;color:#8a1010}
button.mistake{border-color:#8a1010;background:#8a1010;color:#fff}
.status{margin:6px 0 0;font-size:.92em}
footer{margin-top:32px;font-size:.85em;color:#566074}
@media (max-width:640px){
main{padding:16px 10px 32px}
section.card{padding:12px}
dl.summary{grid-template-columns:minmax(0,1fr);gap:0}
dl.summary dd{margin-bottom:10px}
table.stack,table.stack tbody,table.stack tr,table.stack td{display:block}
table.stack thead,table.stack td.num{display:none}
table.stack tr{border-bottom:1px solid #e3e6eb;padding:6px 0}
table.stack td{border:0;padding:2px 0}
table.stack td[data-label]::before{content:attr(data-label);display:block;font-size:.8em;font-weight:bold;color:#566074}
}
`;
