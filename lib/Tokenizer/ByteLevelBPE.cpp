//===- ByteLevelBPE.cpp - Byte-level BPE from tokenizer.json ----*- C++ -*-===//
//
// Merging follows `tokenizers`' BPE word merge: a heap of candidate pairs
// ordered by (merge rank, position), stale entries dropped when popped, so a
// word of n bytes costs O(n log n) rather than the O(n^2) of rescanning for
// the best pair after every merge. Bytes are mapped straight to the ids of
// their alphabet characters; no per-word strings are built.
//
//===----------------------------------------------------------------------===//
#include "ByteLevelBPE.h"
#include "ByteLevel.h"
#include "Utf8.h"

#include <algorithm>

using namespace phiq::tok;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

struct ByteLevelBPE::Scratch {
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
  };
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t newId;
    // Heap order: the lowest rank, then the leftmost position, on top.
    bool operator<(const Candidate &o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::vector<StringRef> words;
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
};

namespace {
/// Reads `merges`: "left right" strings (older files) or [left, right]
/// pairs (newer ones).
Error readMerges(const JsonFields &model, const Vocab &vocab,
                 llvm::function_ref<void(int32_t, int32_t, int32_t)> add) {
  Expected<const json::Array *> list = model.getArray("merges");
  if (!list)
    return list.takeError();
  for (size_t rank = 0; rank < (*list)->size(); ++rank) {
    const json::Value &entry = (**list)[rank];
    std::string field = "merges[" + std::to_string(rank) + "]";
    StringRef left, right;
    if (std::optional<StringRef> line = entry.getAsString()) {
      auto [l, r] = line->split(' ');
      if (l.empty() || r.empty() || r.contains(' '))
        return model.error(field, "must be two tokens separated by a space");
      left = l;
      right = r;
    } else if (const json::Array *pair = entry.getAsArray();
               pair && pair->size() == 2 && (*pair)[0].getAsString() &&
               (*pair)[1].getAsString()) {
      left = *(*pair)[0].getAsString();
      right = *(*pair)[1].getAsString();
    } else {
      return model.error(field, "must be a string or a pair of strings");
    }
    std::optional<int32_t> l = vocab.idOf(left), r = vocab.idOf(right);
    std::optional<int32_t> merged = vocab.idOf((left + right).str());
    if (!l || !r || !merged)
      return model.error(field, "names a token missing from model.vocab ('" +
                                    left + "' + '" + right + "')");
    add(*l, *r, *merged);
  }
  return Error::success();
}
} // namespace

Expected<std::unique_ptr<Tokenizer>>
ByteLevelBPE::create(const JsonFile &tokenizerJson, TokenizerParts parts) {
  StringRef file = tokenizerJson.path;
  JsonFields root(file, *tokenizerJson.root.getAsObject());
  if (const json::Value *n = root.object.get("normalizer");
      n && n->kind() != json::Value::Null)
    return root.error("normalizer",
                      "is set; byte-level BPE with a normalizer is not "
                      "supported");
  Expected<const json::Object *> modelObject = root.getObject("model");
  if (!modelObject)
    return modelObject.takeError();
  JsonFields model(file, **modelObject, "model");

  // Options that change ids and that this implementation does not have.
  if (const json::Value *d = model.object.get("dropout"))
    if (d->kind() != json::Value::Null && d->getAsNumber().value_or(1) != 0)
      return model.error("dropout", "is set; BPE dropout is not supported");
  for (const char *key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    Expected<std::optional<StringRef>> s = model.optionalString(key);
    if (!s)
      return s.takeError();
    if (*s && !(*s)->empty())
      return model.error(key, "is set, which is not supported");
  }

  auto tokenizer =
      std::unique_ptr<ByteLevelBPE>(new ByteLevelBPE(std::move(parts)));
  const Vocab &vocab = tokenizer->parts.vocab;

  Expected<std::optional<StringRef>> unk = model.optionalString("unk_token");
  if (!unk)
    return unk.takeError();
  if (*unk) {
    tokenizer->unkId = vocab.idOf(**unk);
    if (!tokenizer->unkId)
      return model.error("unk_token", "'" + **unk + "' is not in model.vocab");
  }
  for (auto [key, flag] :
       {std::pair<const char *, bool *>{"fuse_unk", &tokenizer->fuseUnk},
        {"ignore_merges", &tokenizer->ignoreMerges}}) {
    Expected<std::optional<bool>> b = model.optionalBool(key);
    if (!b)
      return b.takeError();
    *flag = b->value_or(false);
  }

  int32_t count = 0;
  if (Error e = readMerges(model, vocab, [&](int32_t l, int32_t r, int32_t m) {
        // A repeated pair keeps its last rank, as a hash map built from the
        // list would.
        tokenizer->merges[pairKey(l, r)] = {count++, m};
      }))
    return std::move(e);

  for (unsigned b = 0; b < 256; ++b) {
    std::string spelled;
    utf8::append(spelled, bytelevel::charOf(static_cast<uint8_t>(b)));
    tokenizer->byteIds[b] = vocab.idOf(spelled).value_or(-1);
  }

  Expected<PreTokenizer> pre =
      PreTokenizer::fromJson(file, root.object.get("pre_tokenizer"));
  if (!pre)
    return pre.takeError();
  tokenizer->preTokenizer = std::move(*pre);
  return std::unique_ptr<Tokenizer>(std::move(tokenizer));
}

void ByteLevelBPE::encodeText(StringRef text, std::vector<int32_t> &ids) const {
  Scratch scratch;
  preTokenizer.split(text, scratch.words);
  for (StringRef word : scratch.words)
    encodeWord(word, ids, scratch);
}

void ByteLevelBPE::encodeWord(StringRef word, std::vector<int32_t> &ids,
                              Scratch &scratch) const {
  if (ignoreMerges) {
    std::string spelled;
    for (char c : word)
      utf8::append(spelled, bytelevel::charOf(static_cast<uint8_t>(c)));
    if (std::optional<int32_t> id = parts.vocab.idOf(spelled)) {
      ids.push_back(*id);
      return;
    }
  }

  // One symbol per byte; bytes missing from the vocabulary become the unknown
  // token (one per run when fuse_unk) or vanish when there is none.
  auto &symbols = scratch.symbols;
  symbols.clear();
  bool lastWasUnk = false;
  for (char c : word) {
    int32_t id = byteIds[static_cast<uint8_t>(c)];
    if (id < 0) {
      if (!unkId || (fuseUnk && lastWasUnk))
        continue;
      id = *unkId;
      lastWasUnk = true;
    } else {
      lastWasUnk = false;
    }
    int32_t pos = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, pos - 1, pos + 1, true});
  }
  if (symbols.empty())
    return;
  symbols.back().next = -1;

  auto &heap = scratch.heap;
  heap.clear();
  auto consider = [&](int32_t pos) {
    int32_t next = symbols[pos].next;
    if (next < 0)
      return;
    auto it = merges.find(pairKey(symbols[pos].id, symbols[next].id));
    if (it == merges.end())
      return;
    heap.push_back({it->second.rank, pos, it->second.newId});
    std::push_heap(heap.begin(), heap.end());
  };
  for (int32_t pos = 0; pos + 1 < static_cast<int32_t>(symbols.size()); ++pos)
    consider(pos);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    Scratch::Candidate top = heap.back();
    heap.pop_back();
    auto &left = symbols[top.pos];
    if (!left.alive || left.next < 0)
      continue;
    auto &right = symbols[left.next];
    // Stale entry: the pair at this position has changed since it was
    // queued. Like `tokenizers`, compare by the id the merge produces.
    auto it = merges.find(pairKey(left.id, right.id));
    if (it == merges.end() || it->second.newId != top.newId)
      continue;
    left.id = top.newId;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0)
      symbols[left.next].prev = top.pos;
    if (left.prev >= 0)
      consider(left.prev);
    consider(top.pos);
  }
  for (int32_t pos = 0; pos >= 0; pos = symbols[pos].next)
    ids.push_back(symbols[pos].id);
}
