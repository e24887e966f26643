"""What the people's pages share (the portal and the DPO pages): server-rendered templates in six
languages, sessions with CSRF tokens, sign-in throttling and security headers."""
