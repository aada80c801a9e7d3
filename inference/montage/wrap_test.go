package montage

import (
	"reflect"
	"testing"
	"unicode/utf8"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello,  world", []string{"Hello,", "  ", "world"}},
		{"你好!", []string{"你", "好", "!"}},
		{"a cat在草地上，晴天 ok", []string{"a", " ", "cat", "在", "草", "地", "上", "，", "晴", "天", " ", "ok"}},
		{"\t lead", []string{"\t ", "lead"}},
		{"trail \r", []string{"trail", " \r"}},
		{"好，ok", []string{"好", "，ok"}},
		{"日本語のテキスト", []string{"日", "本", "語", "のテキスト"}}, // kana are not U+4E00–U+9FFF
	}
	for _, tt := range tests {
		if got := tokenize(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("tokenize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// perRune measures 10 units a character, so widths are easy to follow.
func perRune(s string) int64 { return int64(10 * utf8.RuneCountInString(s)) }

func TestWrapText(t *testing.T) {
	tests := []struct {
		name string
		text string
		max  int64
		want []string
	}{
		{"english", "the quick brown fox jumps over the lazy dog", 100,
			[]string{"the quick", "brown fox", "jumps over", "the lazy", "dog"}},
		{"fits", "short line", 100, []string{"short line"}},
		{"exact width fits", "0123456789", 100, []string{"0123456789"}},
		{"cjk", "一二三四五六七八九十一二", 50, []string{"一二三四五", "六七八九十", "一二"}},
		{"mixed", "生成一只cat在草地上", 50, []string{"生成一只", "cat在草", "地上"}},
		{"long token on its own line", "a supercalifragilistic b", 100,
			[]string{"a", "supercalifragilistic", "b"}},
		{"long token first", "supercalifragilistic is long", 100,
			[]string{"supercalifragilistic", "is long"}},
		{"whitespace at a wrap dropped", "aaaa     bbbb", 60, []string{"aaaa", "bbbb"}},
		{"blank lines", "first\n\n   \nsecond\n", 100, []string{"first", "second"}},
		{"empty", "", 100, nil},
		{"only newlines", "\n\n", 100, nil},
		{"right-trimmed", "abc   \t", 100, []string{"abc"}},
		{"paragraph indentation kept", "  indented", 100, []string{"  indented"}},
		{"crlf", "one\r\ntwo", 100, []string{"one", "two"}},
		{"paragraphs wrap separately", "aaa bbb ccc\nddd", 70, []string{"aaa bbb", "ccc", "ddd"}},
		{"cjk punctuation joins other runs", "你好，世界", 20, []string{"你好", "，世", "界"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wrapText(tt.text, tt.max, perRune)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("wrapText(%q, %d) = %q, want %q", tt.text, tt.max, got, tt.want)
			}
		})
	}
}

func TestHasCJKText(t *testing.T) {
	for s, want := range map[string]bool{
		"a cat": false, "一只猫": true, "cat 猫": true, "カタカナ": false, "": false, "\u9fff": true, "\u4dff": false,
	} {
		if got := HasCJKText(s); got != want {
			t.Errorf("HasCJKText(%q) = %v, want %v", s, got, want)
		}
	}
}
