using StreamLb.Configuration;
using Xunit;

namespace StreamLb.Tests.Configuration;

public sealed class TokenizerTests
{
    [Fact]
    public void Splits_words_and_punctuation_and_tracks_lines()
    {
        var tokens = Tokenizer.Tokenize("stream {\n  listen 80;# trailing\n}\n", out var endLine);

        Assert.Equal(
            [
                new Token(TokenKind.Word, "stream", 1),
                new Token(TokenKind.OpenBrace, "{", 1),
                new Token(TokenKind.Word, "listen", 2),
                new Token(TokenKind.Word, "80", 2),
                new Token(TokenKind.Semicolon, ";", 2),
                new Token(TokenKind.CloseBrace, "}", 3),
            ],
            tokens);
        Assert.Equal(4, endLine);
    }

    [Fact]
    public void Drops_comments_to_end_of_line()
    {
        var tokens = Tokenizer.Tokenize("# a comment; { }\nword # another\n", out _);

        Assert.Equal([new Token(TokenKind.Word, "word", 2)], tokens);
    }

    [Fact]
    public void A_hash_inside_a_word_is_part_of_the_word()
    {
        var tokens = Tokenizer.Tokenize("a#b;", out _);

        Assert.Equal("a#b", tokens[0].Text);
    }

    [Theory]
    [InlineData("\"a b;{}\"", "a b;{}")]
    [InlineData("'a b'", "a b")]
    [InlineData("\"say \\\"hi\\\"\"", "say \"hi\"")]
    [InlineData("'it\\'s'", "it's")]
    [InlineData("\"back\\\\slash\"", "back\\slash")]
    [InlineData("\"tab\\tnl\\n\"", "tab\tnl\n")]
    [InlineData("\"keep\\d\"", "keep\\d")]
    [InlineData("\"\"", "")]
    [InlineData("semi\\;colon", "semi\\;colon")]
    public void Reads_quoted_strings_and_escapes(string text, string word)
    {
        var tokens = Tokenizer.Tokenize(text, out _);

        Assert.Equal([new Token(TokenKind.Word, word, 1)], tokens);
    }

    [Fact]
    public void Braces_of_variables_stay_in_the_word_as_in_nginx()
    {
        var tokens = Tokenizer.Tokenize("hash ${remote_addr}x{", out _);

        Assert.Equal(
            [
                new Token(TokenKind.Word, "hash", 1),
                new Token(TokenKind.Word, "${remote_addr}x", 1),
                new Token(TokenKind.OpenBrace, "{", 1),
            ],
            tokens);
    }

    [Fact]
    public void A_quoted_string_spanning_lines_starts_on_its_first_line()
    {
        var tokens = Tokenizer.Tokenize("\"a\nb\" c", out var endLine);

        Assert.Equal([new Token(TokenKind.Word, "a\nb", 1), new Token(TokenKind.Word, "c", 2)], tokens);
        Assert.Equal(2, endLine);
    }
}
