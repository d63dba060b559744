// Merge recipes: YAML parsing and validation, parameter lookup, and the method table.
#include "moerge/merge/recipe.hpp"

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "moerge/core/error.hpp"

namespace fs = std::filesystem;

namespace moerge::merge {

namespace {

std::vector<ParameterInfo> gta_parameters(bool density, bool gamma, bool epsilon, bool consensus) {
  std::vector<ParameterInfo> out{{"weight", true, "1.0", "w_i, the model's weight"}};
  if (density) out.push_back({"density", true, "1.0", "fraction of the task vector kept"});
  if (gamma) out.push_back({"gamma", true, "0.01", "fraction of largest magnitudes dropped"});
  if (epsilon) out.push_back({"epsilon", true, "0.15", "spread of DELLA's keep probabilities"});
  out.push_back({"normalize", false, "", "divide by the sum of (agreeing) weights"});
  if (density) out.push_back({"rescale", false, "", "rescale kept values (rescale_mode: l1 | inverse_density)"});
  out.push_back({"lambda", false, "1.0", "scale of the merged task vector"});
  (void)consensus;
  return out;
}

MethodInfo make_info(Method method, std::string_view name, std::string_view summary) {
  MethodInfo info;
  info.method = method;
  info.name = name;
  info.summary = summary;
  return info;
}

MethodInfo gta(Method method, std::string_view name, std::string_view summary, SparsifyMethod sparsify,
               ConsensusMethod consensus, bool normalize, bool rescale) {
  MethodInfo info = make_info(method, name, summary);
  info.needs_base = true;
  info.base_is_reference = true;
  info.sparsify = sparsify;
  info.consensus = consensus;
  info.normalize_default = normalize;
  info.rescale_default = rescale;
  info.parameters = gta_parameters(sparsify != SparsifyMethod::none, sparsify == SparsifyMethod::magnitude_outliers,
                                   sparsify == SparsifyMethod::della_magprune, consensus != ConsensusMethod::none);
  if (sparsify != SparsifyMethod::none) info.selection = "sparse";
  for (auto& parameter : info.parameters) {
    if (parameter.name == "normalize") parameter.default_text = normalize ? "true" : "false";
    if (parameter.name == "rescale") parameter.default_text = rescale ? "true" : "false";
  }
  return info;
}

std::vector<MethodInfo> build_table() {
  std::vector<MethodInfo> table;
  {
    MethodInfo info = make_info(Method::linear, "linear", "model soup: weighted average of the models' weights");
    info.parameters = {{"weight", true, "1.0", "w_i"}, {"normalize", false, "true", "divide by sum w_i"}};
    info.normalize_default = true;
    table.push_back(info);
  }
  table.push_back(gta(Method::task_arithmetic, "task_arithmetic", "base + lambda * sum w_i tau_i",
                      SparsifyMethod::none, ConsensusMethod::none, false, false));
  table.push_back(gta(Method::ties, "ties", "trim by magnitude, elect signs, disjoint mean (ties_scope tensor|global)",
                      SparsifyMethod::magnitude, ConsensusMethod::sum, true, false));
  table.push_back(gta(Method::dare_linear, "dare_linear", "random drop (Philox) and rescale, then task arithmetic",
                      SparsifyMethod::random, ConsensusMethod::none, false, true));
  table.push_back(gta(Method::dare_ties, "dare_ties", "random drop and rescale, then TIES sign election",
                      SparsifyMethod::random, ConsensusMethod::sum, false, true));
  table.push_back(gta(Method::breadcrumbs, "breadcrumbs", "drop the largest and smallest magnitudes (Model Breadcrumbs)",
                      SparsifyMethod::magnitude_outliers, ConsensusMethod::none, false, false));
  table.push_back(gta(Method::breadcrumbs_ties, "breadcrumbs_ties", "breadcrumbs with TIES sign election",
                      SparsifyMethod::magnitude_outliers, ConsensusMethod::sum, false, false));
  table.push_back(gta(Method::della, "della", "magnitude-ranked random drop per row (DELLA), TIES sign election",
                      SparsifyMethod::della_magprune, ConsensusMethod::sum, true, true));
  table.push_back(gta(Method::della_linear, "della_linear", "DELLA drop, then task arithmetic",
                      SparsifyMethod::della_magprune, ConsensusMethod::none, false, true));
  {
    MethodInfo info = make_info(Method::slerp, "slerp", "spherical interpolation of two models per tensor (t = 0: base)");
    info.needs_base = true;
    info.base_is_reference = true;
    info.n_model_min = 1;
    info.n_model_max = 1;
    info.parameters = {{"t", false, "", "interpolation position (required)"}};
    table.push_back(info);
  }
  {
    MethodInfo info = make_info(Method::model_stock, "model_stock", "interpolate the mean toward the base by task-vector angles");
    info.needs_base = true;
    info.base_is_reference = true;
    info.n_model_min = 2;
    info.parameters = {{"filter_wise", false, "false", "one ratio per row instead of per tensor"}};
    table.push_back(info);
  }
  {
    MethodInfo info = make_info(Method::fisher, "fisher", "Fisher-weighted average (diagonal Fisher of each model)");
    info.parameters = {{"weight", true, "1.0", "l_i"},
                       {"normalize", false, "false", "divide each model's Fisher by its L2 norm over the model"}};
    info.routing_dataset = "expert";
    table.push_back(info);
  }
  {
    MethodInfo info = make_info(Method::regmean, "regmean",
                                "per linear layer, the least-squares merge of the outputs (Gram matrices of its inputs)");
    info.n_model_min = 2;
    info.parameters = {{"weight", true, "1.0", "w_i, for the tensors merged by a weighted mean (no Gram matrix)"},
                       {"alpha", false, "1.0", "scale of the Gram matrices' off-diagonal entries"}};
    info.routing_dataset = "expert";
    table.push_back(info);
  }
  {
    MethodInfo info = make_info(Method::passthrough, "passthrough", "copy one model (times scale)");
    info.n_model_max = 1;
    info.parameters = {{"scale", true, "1.0", "factor applied to every tensor"}};
    info.aggregation = "none";
    table.push_back(info);
  }
  {
    MethodInfo info = make_info(Method::lora_cat, "lora_cat",
                                "PEFT adapters in, one adapter out: factors concatenated (exact sum, rank sum r_i)");
    info.parameters = {{"weight", true, "1.0", "w_i; delta W = sum w_i s_i B_i A_i"}};
    table.push_back(info);
  }
  {
    MethodInfo info = make_info(Method::lora_svd, "lora_svd",
                                "PEFT adapters in, one adapter out: truncated SVD of the weighted sum of deltas");
    info.parameters = {{"weight", true, "1.0", "w_i; delta W = sum w_i s_i B_i A_i"},
                       {"rank", false, "", "rank of the result (default: the largest input rank; at most sum r_i)"}};
    table.push_back(info);
  }
  return table;
}

// Parameters moerge knows; any other name in a recipe is an error.
const std::set<std::string, std::less<>> kModelParameters{"weight", "density", "gamma", "epsilon", "scale"};
const std::set<std::string, std::less<>> kGlobalParameters{"normalize", "rescale", "lambda", "rank", "alpha",
                                                           "int8_mask", "t",           "filter_wise"};
const std::set<std::string, std::less<>> kTopKeys{
    "models", "merge_method", "base_model", "parameters", "dtype", "out_dtype", "tokenizer_source",
    "tokenizer", "chat_template", "ties_scope", "rescale_mode", "seed", "name"};

class Parser {
 public:
  explicit Parser(const fs::path& label) : label_(label.string()) {}

  [[noreturn]] void fail(std::string_view key, std::string_view what) const {
    throw ConfigError(fmt::format("{}: {}: {}", label_, key, what));
  }

  std::string scalar_text(const YAML::Node& node, std::string_view key) const {
    if (!node.IsScalar()) fail(key, "expected a single value");
    return node.Scalar();
  }

  double number(const YAML::Node& node, std::string_view key) const {
    const std::string text = scalar_text(node, key);
    if (text == "true" || text == "True") return 1.0;
    if (text == "false" || text == "False") return 0.0;
    try {
      std::size_t used = 0;
      const double value = std::stod(text, &used);
      if (used != text.size() || !std::isfinite(value)) throw std::invalid_argument(text);
      return value;
    } catch (const std::exception&) {
      fail(key, fmt::format("'{}' is not a number", text));
    }
  }

  Setting setting(const YAML::Node& node, const std::string& key) const {
    Setting out;
    if (node.IsScalar()) {
      out.scalar = number(node, key);
      return out;
    }
    if (!node.IsSequence() || node.size() == 0)
      fail(key, "expected a number, a list of numbers (gradient) or a list of {filter, value}");
    if (node[0].IsScalar()) {
      out.kind = Setting::Kind::gradient;
      for (const auto& item : node) {
        if (!item.IsScalar()) fail(key, "a gradient list holds numbers only");
        out.gradient.push_back(number(item, key));
      }
      return out;
    }
    out.kind = Setting::Kind::conditions;
    for (const auto& item : node) {
      if (!item.IsMap()) fail(key, "a filter list holds {filter: TEXT, value: ...} entries only");
      std::optional<std::string> filter;
      bool has_value = false;
      for (const auto& field : item) {
        const std::string name = field.first.as<std::string>();
        if (name == "filter") {
          filter = scalar_text(field.second, key + ".filter");
        } else if (name == "value") {
          has_value = true;
        } else {
          fail(key, fmt::format("unknown key '{}' in a filter entry (expected filter, value)", name));
        }
      }
      if (!has_value) fail(key, "a filter entry has no 'value'");
      out.filters.push_back(filter);
      out.values.push_back(setting(item["value"], key));
    }
    return out;
  }

  Settings settings(const YAML::Node& node, std::string_view where, bool model_level) const {
    Settings out;
    if (!node || node.IsNull()) return out;
    if (!node.IsMap()) fail(where, "expected a mapping of parameter names to values");
    for (const auto& field : node) {
      const std::string name = field.first.as<std::string>();
      const std::string key = fmt::format("{}.{}", where, name);
      const bool known = kModelParameters.count(name) || (!model_level && kGlobalParameters.count(name));
      if (!known)
        fail(key, fmt::format("unknown parameter '{}' (known: {})", name,
                              model_level ? "weight, density, gamma, epsilon, scale"
                                          : "weight, density, gamma, epsilon, scale, normalize, rescale, "
                                            "lambda, int8_mask, t, filter_wise"));
      out.emplace(name, setting(field.second, key));
    }
    return out;
  }

  std::string label_;
};

void check_range(const Parser& parser, const Settings& settings, std::string_view where) {
  for (const auto& [name, setting] : settings) {
    for (const double value : setting.all_values()) {
      const std::string key = fmt::format("{}.{}", where, name);
      if ((name == "density" || name == "gamma" || name == "t") && (value < 0.0 || value > 1.0))
        parser.fail(key, fmt::format("{} is outside [0, 1]", value));
      if (name == "epsilon" && (value < 0.0 || value >= 0.5))
        parser.fail(key, fmt::format("{} is outside [0, 0.5)", value));
    }
  }
}

}  // namespace

const std::vector<MethodInfo>& method_table() {
  static const std::vector<MethodInfo> table = build_table();
  return table;
}

const MethodInfo& method_info(Method method) {
  for (const auto& info : method_table())
    if (info.method == method) return info;
  throw Error("method_info: method missing from the table");
}

std::optional<Method> method_from_name(std::string_view name) {
  for (const auto& info : method_table())
    if (info.name == name) return info.method;
  return std::nullopt;
}

std::optional<double> Setting::evaluate(std::string_view tensor_name, double t) const {
  switch (kind) {
    case Kind::scalar:
      return scalar;
    case Kind::gradient: {
      if (gradient.size() == 1) return gradient.front();
      const double scaled = t * static_cast<double>(gradient.size() - 1);
      const auto low = static_cast<std::size_t>(std::floor(scaled));
      const std::size_t high = std::min(gradient.size() - 1, low + 1);
      const double frac = scaled - static_cast<double>(low);
      return (1.0 - frac) * gradient[std::min(low, gradient.size() - 1)] + frac * gradient[high];
    }
    case Kind::conditions:
      for (std::size_t idx = 0; idx < values.size(); ++idx)
        if (!filters[idx] || tensor_name.find(*filters[idx]) != std::string_view::npos)
          return values[idx].evaluate(tensor_name, t);
      return std::nullopt;
  }
  return std::nullopt;
}

std::vector<double> Setting::all_values() const {
  switch (kind) {
    case Kind::scalar:
      return {scalar};
    case Kind::gradient:
      return gradient;
    case Kind::conditions: {
      std::vector<double> out;
      for (const auto& value : values) {
        const auto inner = value.all_values();
        out.insert(out.end(), inner.begin(), inner.end());
      }
      return out;
    }
  }
  return {};
}

ModelRef parse_model_ref(std::string_view text) {
  ModelRef ref;
  ref.text = std::string(text);
  const auto split = text.find("/:");
  if (split == std::string_view::npos) {
    ref.dir = fs::path(std::string(text));
    return ref;
  }
  ref.library = fs::path(std::string(text.substr(0, split)));
  ref.object = std::string(text.substr(split + 2));
  ref.dir = *ref.library;
  return ref;
}

std::optional<double> Recipe::parameter(std::string_view name, std::optional<std::size_t> model_idx,
                                        std::string_view tensor_name, double t) const {
  if (model_idx) {
    const auto& own = models.at(*model_idx).parameters;
    if (const auto found = own.find(std::string(name)); found != own.end())
      if (const auto value = found->second.evaluate(tensor_name, t)) return value;
  }
  if (const auto found = parameters.find(std::string(name)); found != parameters.end())
    if (const auto value = found->second.evaluate(tensor_name, t)) return value;
  return std::nullopt;
}

std::vector<std::size_t> Recipe::merged_models() const {
  std::vector<std::size_t> out;
  for (std::size_t idx = 0; idx < models.size(); ++idx)
    if (!(info().base_is_reference && base && models[idx].ref == *base)) out.push_back(idx);
  return out;
}

std::optional<DType> recipe_dtype(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "float32" || lower == "fp32" || lower == "f32") return DType::F32;
  if (lower == "bfloat16" || lower == "bf16") return DType::BF16;
  if (lower == "float16" || lower == "fp16" || lower == "f16" || lower == "half") return DType::F16;
  return std::nullopt;
}

double layer_position(std::string_view tensor_name, std::int64_t n_layer) {
  constexpr std::string_view prefix = "model.layers.";
  if (tensor_name.substr(0, prefix.size()) == prefix) {
    const std::string_view rest = tensor_name.substr(prefix.size());
    std::int64_t layer_idx = 0;
    std::size_t pos = 0;
    while (pos < rest.size() && rest[pos] >= '0' && rest[pos] <= '9') layer_idx = layer_idx * 10 + (rest[pos++] - '0');
    if (pos > 0) return n_layer > 1 ? static_cast<double>(layer_idx) / static_cast<double>(n_layer - 1) : 1.0;
  }
  if (tensor_name.substr(0, 18) == "model.embed_tokens") return 0.0;
  return 1.0;
}

Recipe parse_recipe(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot read the recipe file", file.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_recipe_text(text.str(), file);
}

Recipe parse_recipe_text(const std::string& text, const fs::path& label) {
  const Parser parser(label);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& error) {
    throw ConfigError(fmt::format("{}: not valid YAML: {}", label.string(), error.what()));
  }
  if (!root.IsMap()) throw ConfigError(fmt::format("{}: a recipe is a YAML mapping", label.string()));

  Recipe recipe;
  recipe.file = label;
  recipe.text = text;
  for (const auto& field : root) {
    const std::string key = field.first.as<std::string>();
    if (!kTopKeys.count(key))
      parser.fail(key, "unknown key (known: models, merge_method, base_model, parameters, dtype, out_dtype, "
                       "tokenizer_source, ties_scope, rescale_mode, seed)");
    if (key == "tokenizer_source" || key == "tokenizer" || key == "chat_template" || key == "name")
      recipe.notes.push_back(fmt::format("{}: '{}' is ignored (moerge merges weights only)", label.string(), key));
  }

  if (!root["merge_method"]) parser.fail("merge_method", "is missing");
  const std::string method_name = parser.scalar_text(root["merge_method"], "merge_method");
  const auto method = method_from_name(method_name);
  if (!method) {
    std::string known;
    for (const auto& info : method_table()) known += (known.empty() ? "" : ", ") + std::string(info.name);
    parser.fail("merge_method", fmt::format("unknown method '{}' (known: {})", method_name, known));
  }
  recipe.method = *method;

  if (root["base_model"]) recipe.base = parse_model_ref(parser.scalar_text(root["base_model"], "base_model"));

  const YAML::Node models = root["models"];
  if (!models || !models.IsSequence() || models.size() == 0) parser.fail("models", "expected a non-empty list");
  for (std::size_t idx = 0; idx < models.size(); ++idx) {
    const std::string where = fmt::format("models[{}]", idx);
    const YAML::Node entry = models[idx];
    if (!entry.IsMap()) parser.fail(where, "expected {model: PATH, parameters: {...}}");
    RecipeModel model;
    bool has_model = false;
    for (const auto& field : entry) {
      const std::string key = field.first.as<std::string>();
      if (key == "model") {
        model.ref = parse_model_ref(parser.scalar_text(field.second, where + ".model"));
        has_model = true;
      } else if (key == "parameters") {
        model.parameters = parser.settings(field.second, where + ".parameters", true);
      } else {
        parser.fail(where + "." + key, "unknown key (known: model, parameters)");
      }
    }
    if (!has_model) parser.fail(where + ".model", "is missing");
    for (std::size_t prev = 0; prev < recipe.models.size(); ++prev)
      if (recipe.models[prev].ref == model.ref)
        parser.fail(where + ".model", fmt::format("'{}' is listed twice", model.ref.text));
    check_range(parser, model.parameters, where + ".parameters");
    recipe.models.push_back(std::move(model));
  }
  recipe.parameters = parser.settings(root["parameters"], "parameters", false);
  check_range(parser, recipe.parameters, "parameters");
  if (recipe.parameters.count("int8_mask"))
    recipe.notes.push_back(fmt::format("{}: parameters.int8_mask is accepted and ignored (masks are exact)",
                                       label.string()));

  for (const char* key : {"dtype", "out_dtype"}) {
    if (!root[key]) continue;
    const std::string value = parser.scalar_text(root[key], key);
    const auto dtype = recipe_dtype(value);
    if (!dtype) parser.fail(key, fmt::format("unknown dtype '{}' (known: float32, bfloat16, float16)", value));
    (std::string_view(key) == "dtype" ? recipe.dtype : recipe.out_dtype) = dtype;
  }
  if (root["ties_scope"]) {
    const std::string value = parser.scalar_text(root["ties_scope"], "ties_scope");
    if (value == "tensor") recipe.ties_scope = TiesScope::tensor;
    else if (value == "global") recipe.ties_scope = TiesScope::global;
    else parser.fail("ties_scope", fmt::format("'{}' is not one of tensor, global", value));
    if (recipe.method != Method::ties) parser.fail("ties_scope", fmt::format("applies to ties only, not {}", method_name));
  }
  if (root["rescale_mode"]) {
    const std::string value = parser.scalar_text(root["rescale_mode"], "rescale_mode");
    if (value == "l1") recipe.rescale_mode = RescaleMode::l1;
    else if (value == "inverse_density") recipe.rescale_mode = RescaleMode::inverse_density;
    else parser.fail("rescale_mode", fmt::format("'{}' is not one of l1, inverse_density", value));
  }
  if (root["seed"]) {
    const std::string value = parser.scalar_text(root["seed"], "seed");
    try {
      std::size_t used = 0;
      if (value.empty() || value[0] == '-') throw std::invalid_argument(value);
      recipe.seed = std::stoull(value, &used);
      if (used != value.size()) throw std::invalid_argument(value);
    } catch (const std::exception&) {
      parser.fail("seed", fmt::format("'{}' is not a non-negative integer", value));
    }
  }

  // Method-level rules.
  const MethodInfo& info = recipe.info();
  if (info.needs_base && !recipe.base) parser.fail("base_model", fmt::format("is required by {}", method_name));
  const std::size_t n_merged = recipe.merged_models().size();
  if (recipe.method == Method::slerp && n_merged != 1)
    parser.fail("models", fmt::format("slerp needs exactly two models, the base_model and one other (got {} besides "
                                      "the base)",
                                      n_merged));
  if (n_merged < info.n_model_min)
    parser.fail("models", fmt::format("{} needs at least {} model(s){} (got {})", method_name, info.n_model_min,
                                      info.base_is_reference ? " besides the base_model" : "", n_merged));
  if (info.n_model_max > 0 && n_merged > info.n_model_max)
    parser.fail("models", fmt::format("{} takes at most {} model(s) (got {})", method_name, info.n_model_max, n_merged));
  if (recipe.method == Method::slerp) {
    const auto found = recipe.parameters.find("t");
    if (found == recipe.parameters.end()) parser.fail("parameters.t", "is required by slerp");
  }
  if (recipe.ties_scope == TiesScope::global) {
    for (const char* name : {"gamma", "epsilon", "rescale"})
      if (recipe.parameters.count(name)) parser.fail(fmt::format("parameters.{}", name), "not used by global TIES");
  }
  // Parameters the method does not read are said once, as mergekit does.
  std::set<std::string, std::less<>> used;
  for (const auto& parameter : info.parameters) used.insert(std::string(parameter.name));
  used.insert("int8_mask");
  auto note_unused = [&](const Settings& settings, const std::string& where) {
    for (const auto& [name, setting] : settings)
      if (!used.count(name))
        recipe.notes.push_back(fmt::format("{}: {}.{} is not used by {} (ignored)", label.string(), where, name, method_name));
  };
  note_unused(recipe.parameters, "parameters");
  for (std::size_t idx = 0; idx < recipe.models.size(); ++idx)
    note_unused(recipe.models[idx].parameters, fmt::format("models[{}].parameters", idx));
  return recipe;
}

}  // namespace moerge::merge
