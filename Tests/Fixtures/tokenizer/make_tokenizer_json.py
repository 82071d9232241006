"""Writes tokenizer.json (and tokenizer-legacy-merges.json) next to this script from vocab.json + merges.txt,
configured as transformers' RobertaTokenizerFast builds its backend (RobertaConverter): BPE without unk,
ByteLevel pre-tokenizer (add_prefix_space=False) and decoder, RobertaProcessing, special tokens
<s> <pad> </s> <unk> <mask> with <mask> lstrip=True. Checks that the result reproduces every case of
cases.json before writing. Run: python make_tokenizer_json.py (needs `pip install tokenizers`)."""
import json, os
from tokenizers import Tokenizer, AddedToken, decoders, pre_tokenizers, processors
from tokenizers.models import BPE

here = os.path.dirname(os.path.abspath(__file__))
bpe = BPE.from_file(os.path.join(here, "vocab.json"), os.path.join(here, "merges.txt"),
                    dropout=None, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False)
tok = Tokenizer(bpe)
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=False, trim_offsets=True)
tok.add_special_tokens([
    AddedToken("<s>", lstrip=False, rstrip=False, normalized=False, special=True),
    AddedToken("<pad>", lstrip=False, rstrip=False, normalized=False, special=True),
    AddedToken("</s>", lstrip=False, rstrip=False, normalized=False, special=True),
    AddedToken("<unk>", lstrip=False, rstrip=False, normalized=False, special=True),
    AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True),
])
cases = json.load(open(os.path.join(here, "cases.json"), encoding="utf-8"))["cases"]
bad = [c["name"] for c in cases if tok.encode(c["text"]).ids != c["input_ids"]]
assert not bad, bad
text = tok.to_str(pretty=True)
open(os.path.join(here, "tokenizer.json"), "w", encoding="utf-8").write(text)
# The same file with merges in the legacy "a b" string form (tokenizers < 0.20 wrote this form).
data = json.loads(text)
data["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in data["model"]["merges"]]
open(os.path.join(here, "tokenizer-legacy-merges.json"), "w", encoding="utf-8").write(json.dumps(data, ensure_ascii=False, indent=2))
reloaded = Tokenizer.from_file(os.path.join(here, "tokenizer-legacy-merges.json"))
assert all(reloaded.encode(c["text"]).ids == c["input_ids"] for c in cases)
print("ok", len(cases), "cases")
