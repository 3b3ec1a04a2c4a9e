"""Text to a Registry: the lexer, parser, sort variants, compiler, loader."""
