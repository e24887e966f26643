"""OAuth 2.0: the token endpoint (client credentials), access tokens and their verification."""
