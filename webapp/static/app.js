// Gongdan UI behaviour (no inline scripts: the CSP forbids them).
"use strict";
