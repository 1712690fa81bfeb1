#include "torchinit/module_desc_json.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "torchinit/spec.h"

namespace torchinit {
namespace {

using nlohmann::json;

constexpr const char* kModuleDescJsonWho = "torchinit::module_desc_from_json: ";

// The fields of one JSON object, read by name; a key that is not read is an error.
class Fields {
 public:
  Fields(const json& object, std::string where, std::vector<std::string> keys)
      : object_(object), where_(std::move(where)) {
    TORCH_CHECK(object.is_object(), kModuleDescJsonWho, where_, " must be a JSON object, got ",
                object.type_name());
    for (const auto& item : object.items()) {
      TORCH_CHECK(std::find(keys.begin(), keys.end(), item.key()) != keys.end(), kModuleDescJsonWho,
                  where_, ": unknown key '", item.key(), "';", did_you_mean(item.key(), keys),
                  " the keys are ModuleDesc's field names");
    }
  }

  void read(const char* key, std::string& out) const {
    if (const json* v = find(key)) out = expect(key, *v, v->is_string(), "a string");
  }
  void read(const char* key, int64_t& out) const {
    if (const json* v = find(key)) out = integer(key, *v);
  }
  void read(const char* key, int& out) const {
    if (const json* v = find(key)) out = static_cast<int>(integer(key, *v));
  }
  void read(const char* key, bool& out) const {
    if (const json* v = find(key)) out = expect(key, *v, v->is_boolean(), "true or false");
  }
  void read(const char* key, double& out) const {
    if (const json* v = find(key)) out = expect(key, *v, v->is_number(), "a number");
  }
  void read(const char* key, std::optional<int64_t>& out) const {
    if (const json* v = find(key)) {
      out = v->is_null() ? std::nullopt : std::optional<int64_t>(integer(key, *v));
    }
  }
  void read(const char* key, std::vector<int64_t>& out) const {
    if (const json* v = find(key)) {
      expect_array(key, *v, "an array of integers");
      out.clear();
      for (const json& e : *v) out.push_back(integer(key, e));
    }
  }
  void read(const char* key, std::vector<std::string>& out) const {
    if (const json* v = find(key)) {
      expect_array(key, *v, "an array of strings");
      out.clear();
      for (const json& e : *v) out.push_back(expect(key, e, e.is_string(), "an array of strings"));
    }
  }
  void read(const char* key, std::optional<Fans>& out) const {
    if (const json* v = find(key)) {
      if (v->is_null()) {
        out = std::nullopt;
        return;
      }
      TORCH_CHECK(v->is_array() && v->size() == 2, kModuleDescJsonWho, where_, ": '", key,
                  "' expects [fan_in, fan_out] or null, got ", v->dump());
      out = Fans{integer(key, (*v)[0]), integer(key, (*v)[1])};
    }
  }

  const json* find(const char* key) const {
    const auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  const std::string& where() const { return where_; }

 private:
  int64_t integer(const char* key, const json& v) const {
    return expect(key, v, v.is_number_integer(), "an integer");
  }
  const json& expect(const char* key, const json& v, bool ok, const char* expected) const {
    TORCH_CHECK(ok, kModuleDescJsonWho, where_, ": '", key, "' expects ", expected, ", got ",
                v.dump());
    return v;
  }
  void expect_array(const char* key, const json& v, const char* expected) const {
    expect(key, v, v.is_array(), expected);
  }

  const json& object_;
  std::string where_;
};

ParamDesc param_desc_from(const json& object, const std::string& name) {
  const Fields fields(object, "params['" + name + "']",
                      {"role", "torch_default", "module_fans", "layout"});
  ParamDesc p;
  fields.read("role", p.role);
  fields.read("torch_default", p.torch_default);
  fields.read("module_fans", p.module_fans);
  if (const json* layout = fields.find("layout")) {
    const Fields l(*layout, fields.where() + ".layout",
                   {"out_dim", "in_dim", "groups", "transposed", "blocks"});
    l.read("out_dim", p.layout.out_dim);
    l.read("in_dim", p.layout.in_dim);
    l.read("groups", p.layout.groups);
    l.read("transposed", p.layout.transposed);
    l.read("blocks", p.layout.blocks);
  }
  return p;
}

json to_json(const ParamDesc& p) {
  return json{
      {"role", p.role},
      {"torch_default", p.torch_default},
      {"module_fans", p.module_fans ? json::array({p.module_fans->fan_in, p.module_fans->fan_out})
                                    : json(nullptr)},
      {"layout",
       {{"out_dim", p.layout.out_dim},
        {"in_dim", p.layout.in_dim},
        {"groups", p.layout.groups},
        {"transposed", p.layout.transposed},
        {"blocks", p.layout.blocks}}}};
}

}  // namespace

ModuleDesc module_desc_from_json(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    TORCH_CHECK(false, kModuleDescJsonWho, "invalid JSON: ", e.what());
  }
  const Fields f(
      j, "module description",
      {"type",          "class_name",     "in_features",    "in2_features",   "out_features",
       "kernel_size",   "groups",         "transposed",     "hidden_size",    "num_layers",
       "bidirectional", "proj_size",      "num_embeddings", "embedding_dim",  "padding_idx",
       "embed_dim",     "num_heads",      "kdim",           "vdim",           "bias",
       "add_bias_kv",   "num_parameters", "init",           "ancestor_types", "attribute",
       "params"});
  ModuleDesc d;
  TORCH_CHECK(f.find("type") != nullptr, kModuleDescJsonWho,
              "module description: 'type' is required (\"Linear\", \"LSTM\", … or the class name)");
  f.read("type", d.type);
  f.read("class_name", d.class_name);
  f.read("in_features", d.in_features);
  f.read("in2_features", d.in2_features);
  f.read("out_features", d.out_features);
  f.read("kernel_size", d.kernel_size);
  f.read("groups", d.groups);
  f.read("transposed", d.transposed);
  f.read("hidden_size", d.hidden_size);
  f.read("num_layers", d.num_layers);
  f.read("bidirectional", d.bidirectional);
  f.read("proj_size", d.proj_size);
  f.read("num_embeddings", d.num_embeddings);
  f.read("embedding_dim", d.embedding_dim);
  f.read("padding_idx", d.padding_idx);
  f.read("embed_dim", d.embed_dim);
  f.read("num_heads", d.num_heads);
  f.read("kdim", d.kdim);
  f.read("vdim", d.vdim);
  f.read("bias", d.bias);
  f.read("add_bias_kv", d.add_bias_kv);
  f.read("num_parameters", d.num_parameters);
  f.read("init", d.init);
  f.read("ancestor_types", d.ancestor_types);
  f.read("attribute", d.attribute);
  if (const json* params = f.find("params")) {
    TORCH_CHECK(params->is_object(), kModuleDescJsonWho,
                "module description: 'params' expects an object {name: layout}, got ",
                params->dump());
    for (const auto& item : params->items())
      d.params[item.key()] = param_desc_from(item.value(), item.key());
  }
  return d;
}

std::string module_desc_to_json(const ModuleDesc& d) {
  json params = json::object();
  for (const auto& [name, p] : d.params) params[name] = to_json(p);
  return json{{"type", d.type},
              {"class_name", d.class_name},
              {"in_features", d.in_features},
              {"in2_features", d.in2_features},
              {"out_features", d.out_features},
              {"kernel_size", d.kernel_size},
              {"groups", d.groups},
              {"transposed", d.transposed},
              {"hidden_size", d.hidden_size},
              {"num_layers", d.num_layers},
              {"bidirectional", d.bidirectional},
              {"proj_size", d.proj_size},
              {"num_embeddings", d.num_embeddings},
              {"embedding_dim", d.embedding_dim},
              {"padding_idx", d.padding_idx ? json(*d.padding_idx) : json(nullptr)},
              {"embed_dim", d.embed_dim},
              {"num_heads", d.num_heads},
              {"kdim", d.kdim},
              {"vdim", d.vdim},
              {"bias", d.bias},
              {"add_bias_kv", d.add_bias_kv},
              {"num_parameters", d.num_parameters},
              {"init", d.init},
              {"ancestor_types", d.ancestor_types},
              {"attribute", d.attribute},
              {"params", params}}
      .dump();
}

}  // namespace torchinit
