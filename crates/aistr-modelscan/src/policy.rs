//! Import policy for pickle globals: an allowlist of known-safe reconstruction callables and a
//! denylist of dangerous ones, each with the reason we give the user.
//!
//! The allowlist is what makes the scanner fail closed: anything neither allowed nor denied is
//! reported as *suspicious* ("not on the allowlist"), so a new gadget that a denylist has never
//! heard of still stops the file from being called clean. The denylist only decides between
//! *suspicious* and *malicious* and supplies a better explanation.

use crate::model::Severity;

/// How the policy judges one `module.name` import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// A known-safe reconstruction callable or plain data class.
    Allowed,
    /// A known-dangerous callable, with severity and the reason.
    Denied(Severity, &'static str),
    /// Neither: suspicious by default.
    Unknown,
}

/// Maps Python 2 / C-accelerator module aliases to the names the lists use.
pub fn normalize_module(module: &str) -> String {
    let (head, rest) = match module.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (module, None),
    };
    let head = match head {
        "__builtin__" | "__builtins__" => "builtins",
        "posix" | "nt" | "_posixsubprocess" => "os",
        "_pickle" | "cPickle" => "pickle",
        "copy_reg" => "copyreg",
        "_io" => "io",
        "_operator" => "operator",
        "httplib" => "http",
        "urllib2" => "urllib",
        "commands" | "popen2" => "subprocess",
        other => other,
    };
    match rest {
        Some(r) => format!("{head}.{r}"),
        None => head.to_string(),
    }
}

const CODE: &str = "executes arbitrary Python code";
const PROC: &str = "runs operating-system commands or processes";
const FILE: &str = "reads, writes or deletes files";
const NET: &str = "opens network connections";
const IMPORT: &str = "imports or resolves arbitrary modules/attributes, a building block of gadget chains";
const PICKLE: &str = "deserialises a nested payload (pickle/marshal/torch.load) that escapes this scan";
const INTERNAL: &str =
    "a library-internal entry point that runs code, files or processes (published scanner bypass)";
const TYPES: &str = "builds code or function objects from raw bytecode";

/// Denied prefixes (matched on dotted boundaries against `module.name`).
const DENY: &[(&str, Severity, &str)] = &[
    ("builtins.eval", Severity::Critical, CODE),
    ("builtins.exec", Severity::Critical, CODE),
    ("builtins.execfile", Severity::Critical, CODE),
    ("builtins.compile", Severity::Critical, CODE),
    ("builtins.apply", Severity::High, CODE),
    ("builtins.__import__", Severity::High, IMPORT),
    ("builtins.getattr", Severity::High, IMPORT),
    ("builtins.setattr", Severity::High, IMPORT),
    ("builtins.delattr", Severity::High, IMPORT),
    ("builtins.globals", Severity::High, IMPORT),
    ("builtins.locals", Severity::High, IMPORT),
    ("builtins.vars", Severity::High, IMPORT),
    ("builtins.open", Severity::High, FILE),
    ("builtins.input", Severity::High, CODE),
    ("builtins.breakpoint", Severity::High, CODE),
    ("builtins.help", Severity::High, PROC),
    ("builtins.exit", Severity::High, PROC),
    ("builtins.quit", Severity::High, PROC),
    ("builtins.memoryview", Severity::Medium, IMPORT),
    ("os", Severity::Critical, PROC),
    ("subprocess", Severity::Critical, PROC),
    ("pty", Severity::Critical, PROC),
    ("runpy", Severity::Critical, CODE),
    ("code", Severity::Critical, CODE),
    ("codeop", Severity::Critical, CODE),
    ("sys", Severity::High, PROC),
    ("socket", Severity::High, NET),
    ("socketserver", Severity::High, NET),
    ("ssl", Severity::High, NET),
    ("http", Severity::High, NET),
    ("urllib", Severity::High, NET),
    ("requests", Severity::High, NET),
    ("aiohttp", Severity::High, NET),
    ("httpx", Severity::High, NET),
    ("xmlrpc", Severity::High, NET),
    ("smtplib", Severity::High, NET),
    ("ftplib", Severity::High, NET),
    ("poplib", Severity::High, NET),
    ("imaplib", Severity::High, PROC),
    ("telnetlib", Severity::High, NET),
    ("nntplib", Severity::High, NET),
    ("webbrowser", Severity::High, PROC),
    ("shutil", Severity::High, FILE),
    ("tempfile", Severity::High, FILE),
    ("fileinput", Severity::High, FILE),
    ("io.open", Severity::High, FILE),
    ("io.FileIO", Severity::High, FILE),
    ("io.open_code", Severity::High, FILE),
    ("pathlib.Path.write_text", Severity::High, FILE),
    ("pathlib.Path.write_bytes", Severity::High, FILE),
    ("logging", Severity::High, FILE),
    ("sqlite3", Severity::High, FILE),
    ("shelve", Severity::High, PICKLE),
    ("dbm", Severity::High, FILE),
    ("ctypes", Severity::Critical, CODE),
    ("_ctypes", Severity::Critical, CODE),
    ("cffi", Severity::Critical, CODE),
    ("importlib", Severity::High, IMPORT),
    ("imp", Severity::High, IMPORT),
    ("pkgutil", Severity::High, IMPORT),
    ("zipimport", Severity::High, IMPORT),
    ("pydoc", Severity::High, IMPORT),
    ("site", Severity::High, IMPORT),
    ("marshal", Severity::Critical, PICKLE),
    ("pickle", Severity::Critical, PICKLE),
    ("dill", Severity::Critical, PICKLE),
    ("cloudpickle", Severity::Critical, TYPES),
    ("joblib.load", Severity::High, PICKLE),
    ("numpy.load", Severity::High, PICKLE),
    ("numpy.lib.npyio", Severity::High, PICKLE),
    ("yaml.load", Severity::High, CODE),
    ("yaml.unsafe_load", Severity::Critical, CODE),
    ("jinja2", Severity::High, CODE),
    ("types.CodeType", Severity::Critical, TYPES),
    ("types.FunctionType", Severity::Critical, TYPES),
    ("types.LambdaType", Severity::Critical, TYPES),
    ("types.MethodType", Severity::High, TYPES),
    ("operator.attrgetter", Severity::High, IMPORT),
    ("operator.methodcaller", Severity::High, IMPORT),
    ("functools.reduce", Severity::Medium, IMPORT),
    ("bdb", Severity::Critical, CODE),
    ("pdb", Severity::Critical, CODE),
    ("timeit", Severity::Critical, CODE),
    ("cProfile", Severity::Critical, CODE),
    ("profile", Severity::Critical, CODE),
    ("_lsprof", Severity::High, CODE),
    ("trace", Severity::Critical, CODE),
    ("doctest", Severity::Critical, CODE),
    ("idlelib", Severity::Critical, INTERNAL),
    ("lib2to3", Severity::High, INTERNAL),
    ("ensurepip", Severity::Critical, PROC),
    ("pip", Severity::Critical, PROC),
    ("venv", Severity::High, PROC),
    ("asyncio", Severity::High, PROC),
    ("multiprocessing", Severity::High, PROC),
    ("concurrent", Severity::High, PROC),
    ("threading", Severity::High, CODE),
    ("_thread", Severity::High, CODE),
    ("signal", Severity::High, PROC),
    ("atexit", Severity::High, CODE),
    ("gc", Severity::Medium, IMPORT),
    ("_aix_support", Severity::High, INTERNAL),
    ("_osx_support", Severity::High, INTERNAL),
    ("_pyrepl", Severity::High, INTERNAL),
    ("uuid._get_command_stdout", Severity::High, INTERNAL),
    ("test", Severity::High, INTERNAL),
    ("distutils", Severity::High, INTERNAL),
    ("setuptools", Severity::High, INTERNAL),
    ("pkg_resources", Severity::High, IMPORT),
    ("numpy.f2py", Severity::High, INTERNAL),
    ("numpy.testing", Severity::High, INTERNAL),
    ("numpy.distutils", Severity::High, INTERNAL),
    ("torch.load", Severity::High, PICKLE),
    ("torch.serialization", Severity::High, PICKLE),
    ("torch.storage._load_from_bytes", Severity::High, PICKLE),
    ("torch.hub", Severity::High, NET),
    ("torch.package", Severity::High, PICKLE),
    ("torch.utils.collect_env", Severity::Critical, INTERNAL),
    ("torch.utils.bottleneck", Severity::Critical, INTERNAL),
    ("torch.utils.data.datapipes", Severity::High, INTERNAL),
    ("torch.utils._config_module", Severity::High, INTERNAL),
    ("torch.utils.cpp_extension", Severity::Critical, INTERNAL),
    ("torch._dynamo", Severity::High, INTERNAL),
    ("torch._inductor", Severity::High, INTERNAL),
    ("torch.fx", Severity::High, INTERNAL),
    ("torch.jit", Severity::High, INTERNAL),
    ("torch.ops", Severity::High, INTERNAL),
    ("torch._ops", Severity::High, INTERNAL),
    ("torch._C._jit", Severity::High, INTERNAL),
    ("torch.distributed", Severity::High, NET),
    ("mlflow", Severity::High, INTERNAL),
];

/// Allowed exact `module.name` pairs (after normalisation).
const ALLOW: &[&str] = &[
    "collections.OrderedDict",
    "collections.defaultdict",
    "collections.Counter",
    "collections.deque",
    "builtins.set",
    "builtins.frozenset",
    "builtins.bytearray",
    "builtins.bytes",
    "builtins.slice",
    "builtins.complex",
    "builtins.range",
    "builtins.list",
    "builtins.dict",
    "builtins.tuple",
    "builtins.int",
    "builtins.float",
    "builtins.str",
    "builtins.bool",
    "builtins.object",
    "builtins.long",
    "builtins.unicode",
    "copyreg._reconstructor",
    "_codecs.encode",
    "datetime.datetime",
    "datetime.date",
    "datetime.time",
    "datetime.timedelta",
    "datetime.timezone",
    "decimal.Decimal",
    "fractions.Fraction",
    "uuid.UUID",
    "argparse.Namespace",
    "pathlib.PosixPath",
    "pathlib.PurePosixPath",
    "pathlib.WindowsPath",
    "pathlib.PureWindowsPath",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_nested_tensor",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_wrapper_subclass",
    "torch._tensor._rebuild_from_type",
    "torch._tensor._rebuild_from_type_v2",
    "torch.serialization._get_layout",
    "torch.Tensor",
    "torch.Size",
    "torch.device",
    "torch.nn.parameter.Parameter",
    "torch.nn.parameter.Buffer",
    "torch.storage.UntypedStorage",
    "torch.storage.TypedStorage",
    "torch.storage._StorageBase",
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    "numpy.core.numeric._frombuffer",
    "numpy._core.numeric._frombuffer",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.ma.core._mareconstruct",
    "numpy.random._pickle.__randomstate_ctor",
    "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._pickle.__generator_ctor",
    "joblib.numpy_pickle.NumpyArrayWrapper",
    "scipy.sparse._csr.csr_matrix",
    "scipy.sparse._csc.csc_matrix",
    "scipy.sparse._coo.coo_matrix",
    "scipy.sparse.csr.csr_matrix",
];

/// Module prefixes whose *class-like* names (first letter upper case) are plain data classes,
/// enums or estimators whose construction runs no user-controlled code.
const ALLOW_CLASS_PREFIXES: &[&str] = &[
    "numpy.dtypes",
    "transformers.trainer_utils",
    "transformers.training_args",
    "transformers.training_args_seq2seq",
    "transformers.debug_utils",
    "transformers.utils.generic",
    "accelerate.utils.dataclasses",
    "accelerate.state",
];

/// Model classes by defining module, as `pickle` names them when a whole scikit-learn estimator or
/// `torch.nn.Module` is saved. Unpickling one of these creates the object and sets its state;
/// none runs code taken from the file. Anything else under `sklearn` or `torch.nn.modules`
/// (a helper function, a made-up class) is not allowed by being there.
#[rustfmt::skip]
const ALLOW_CLASSES: &[(&str, &[&str])] = &[
    ("sklearn.linear_model._base", &["LinearRegression"]),
    ("sklearn.linear_model._logistic", &["LogisticRegression", "LogisticRegressionCV"]),
    ("sklearn.linear_model._ridge", &["Ridge", "RidgeCV", "RidgeClassifier", "RidgeClassifierCV"]),
    ("sklearn.linear_model._coordinate_descent", &["Lasso", "LassoCV", "ElasticNet", "ElasticNetCV"]),
    ("sklearn.linear_model._stochastic_gradient", &["SGDClassifier", "SGDRegressor", "SGDOneClassSVM"]),
    ("sklearn.linear_model._perceptron", &["Perceptron"]),
    ("sklearn.linear_model._bayes", &["BayesianRidge", "ARDRegression"]),
    ("sklearn.linear_model._huber", &["HuberRegressor"]),
    ("sklearn.linear_model._passive_aggressive", &[
        "PassiveAggressiveClassifier", "PassiveAggressiveRegressor",
    ]),
    ("sklearn.linear_model._sgd_fast", &[
        "Hinge", "SquaredHinge", "Log", "ModifiedHuber", "SquaredLoss", "Huber", "EpsilonInsensitive",
        "SquaredEpsilonInsensitive",
    ]),
    ("sklearn.svm._classes", &["SVC", "SVR", "NuSVC", "NuSVR", "LinearSVC", "LinearSVR", "OneClassSVM"]),
    ("sklearn.tree._classes", &[
        "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier", "ExtraTreeRegressor",
    ]),
    ("sklearn.tree._tree", &["Tree"]),
    ("sklearn.ensemble._forest", &[
        "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor",
        "RandomTreesEmbedding",
    ]),
    ("sklearn.ensemble._iforest", &["IsolationForest"]),
    ("sklearn.ensemble._gb", &["GradientBoostingClassifier", "GradientBoostingRegressor"]),
    ("sklearn.ensemble._gb_losses", &[
        "BinomialDeviance", "MultinomialDeviance", "LeastSquaresError", "LeastAbsoluteError",
        "HuberLossFunction", "QuantileLossFunction", "ExponentialLoss",
    ]),
    ("sklearn.ensemble._weight_boosting", &["AdaBoostClassifier", "AdaBoostRegressor"]),
    ("sklearn.ensemble._bagging", &["BaggingClassifier", "BaggingRegressor"]),
    ("sklearn.ensemble._voting", &["VotingClassifier", "VotingRegressor"]),
    ("sklearn.ensemble._stacking", &["StackingClassifier", "StackingRegressor"]),
    ("sklearn.ensemble._hist_gradient_boosting.gradient_boosting", &[
        "HistGradientBoostingClassifier", "HistGradientBoostingRegressor",
    ]),
    ("sklearn.ensemble._hist_gradient_boosting.predictor", &["TreePredictor"]),
    ("sklearn._loss.loss", &[
        "HalfSquaredError", "AbsoluteError", "PinballLoss", "HuberLoss", "HalfPoissonLoss", "HalfGammaLoss",
        "HalfTweedieLoss", "HalfTweedieLossIdentity", "HalfBinomialLoss", "HalfMultinomialLoss",
        "ExponentialLoss",
    ]),
    ("sklearn._loss._loss", &[
        "CyHalfSquaredError", "CyAbsoluteError", "CyPinballLoss", "CyHuberLoss", "CyHalfPoissonLoss",
        "CyHalfGammaLoss", "CyHalfTweedieLoss", "CyHalfTweedieLossIdentity", "CyHalfBinomialLoss",
        "CyHalfMultinomialLoss", "CyExponentialLoss",
    ]),
    ("sklearn._loss.link", &[
        "IdentityLink", "LogLink", "LogitLink", "HalfLogitLink", "MultinomialLogit", "Interval",
    ]),
    ("sklearn.neighbors._classification", &["KNeighborsClassifier", "RadiusNeighborsClassifier"]),
    ("sklearn.neighbors._regression", &["KNeighborsRegressor", "RadiusNeighborsRegressor"]),
    ("sklearn.neighbors._unsupervised", &["NearestNeighbors"]),
    ("sklearn.neighbors._kd_tree", &["KDTree"]),
    ("sklearn.neighbors._ball_tree", &["BallTree"]),
    ("sklearn.naive_bayes", &["GaussianNB", "MultinomialNB", "BernoulliNB", "ComplementNB", "CategoricalNB"]),
    ("sklearn.cluster._kmeans", &["KMeans", "MiniBatchKMeans"]),
    ("sklearn.cluster._dbscan", &["DBSCAN"]),
    ("sklearn.decomposition._pca", &["PCA"]),
    ("sklearn.decomposition._truncated_svd", &["TruncatedSVD"]),
    ("sklearn.decomposition._nmf", &["NMF"]),
    ("sklearn.decomposition._lda", &["LatentDirichletAllocation"]),
    ("sklearn.discriminant_analysis", &["LinearDiscriminantAnalysis", "QuadraticDiscriminantAnalysis"]),
    ("sklearn.neural_network._multilayer_perceptron", &["MLPClassifier", "MLPRegressor"]),
    ("sklearn.preprocessing._data", &[
        "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "Normalizer", "Binarizer",
        "QuantileTransformer", "PowerTransformer",
    ]),
    ("sklearn.preprocessing._encoders", &["OneHotEncoder", "OrdinalEncoder"]),
    ("sklearn.preprocessing._label", &["LabelEncoder", "LabelBinarizer", "MultiLabelBinarizer"]),
    ("sklearn.preprocessing._polynomial", &["PolynomialFeatures", "SplineTransformer"]),
    ("sklearn.preprocessing._discretization", &["KBinsDiscretizer"]),
    ("sklearn.preprocessing._function_transformer", &["FunctionTransformer"]),
    ("sklearn.impute._base", &["SimpleImputer", "MissingIndicator"]),
    ("sklearn.feature_extraction.text", &[
        "CountVectorizer", "TfidfVectorizer", "TfidfTransformer", "HashingVectorizer",
    ]),
    ("sklearn.feature_extraction._dict_vectorizer", &["DictVectorizer"]),
    ("sklearn.feature_selection._univariate_selection", &["SelectKBest", "SelectPercentile"]),
    ("sklearn.feature_selection._variance_threshold", &["VarianceThreshold"]),
    ("sklearn.pipeline", &["Pipeline", "FeatureUnion"]),
    ("sklearn.compose._column_transformer", &["ColumnTransformer"]),
    ("sklearn.calibration", &["CalibratedClassifierCV"]),
    ("sklearn.multiclass", &["OneVsRestClassifier", "OneVsOneClassifier"]),
    ("sklearn.dummy", &["DummyClassifier", "DummyRegressor"]),
    ("sklearn.model_selection._search", &["GridSearchCV", "RandomizedSearchCV"]),
    ("sklearn.utils._bunch", &["Bunch"]),
    ("torch.nn.modules.module", &["Module"]),
    ("torch.nn.modules.linear", &[
        "Identity", "Linear", "Bilinear", "LazyLinear", "NonDynamicallyQuantizableLinear",
    ]),
    ("torch.nn.modules.conv", &[
        "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    ]),
    ("torch.nn.modules.container", &[
        "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
    ]),
    ("torch.nn.modules.activation", &[
        "Threshold", "ReLU", "RReLU", "Hardtanh", "ReLU6", "Sigmoid", "Hardsigmoid", "Tanh", "SiLU", "Mish",
        "Hardswish", "ELU", "CELU", "SELU", "GLU", "GELU", "Hardshrink", "LeakyReLU", "LogSigmoid",
        "Softplus", "Softshrink", "MultiheadAttention", "PReLU", "Softsign", "Tanhshrink", "Softmin",
        "Softmax", "Softmax2d", "LogSoftmax",
    ]),
    ("torch.nn.modules.normalization", &[
        "LocalResponseNorm", "CrossMapLRN2d", "LayerNorm", "GroupNorm", "RMSNorm",
    ]),
    ("torch.nn.modules.batchnorm", &["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"]),
    ("torch.nn.modules.instancenorm", &["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]),
    ("torch.nn.modules.dropout", &[
        "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
    ]),
    ("torch.nn.modules.sparse", &["Embedding", "EmbeddingBag"]),
    ("torch.nn.modules.rnn", &["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]),
    ("torch.nn.modules.transformer", &[
        "Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
        "TransformerDecoderLayer",
    ]),
    ("torch.nn.modules.pooling", &[
        "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveMaxPool1d",
        "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
        "AdaptiveAvgPool3d", "LPPool1d", "LPPool2d",
    ]),
    ("torch.nn.modules.flatten", &["Flatten", "Unflatten"]),
    ("torch.nn.modules.padding", &[
        "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
        "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d",
    ]),
    ("torch.nn.modules.pixelshuffle", &["PixelShuffle", "PixelUnshuffle"]),
    ("torch.nn.modules.upsampling", &["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]),
    ("torch.nn.modules.distance", &["PairwiseDistance", "CosineSimilarity"]),
    ("torch.nn.modules.loss", &[
        "L1Loss", "MSELoss", "NLLLoss", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss", "HuberLoss",
        "SmoothL1Loss", "KLDivLoss",
    ]),
];

/// Names that are torch dtypes/layouts when imported as `torch.<name>`.
const TORCH_ATTRS: &[&str] = &[
    "float32",
    "float",
    "float64",
    "double",
    "float16",
    "half",
    "bfloat16",
    "int64",
    "long",
    "int32",
    "int",
    "int16",
    "short",
    "int8",
    "uint8",
    "bool",
    "complex64",
    "cfloat",
    "complex128",
    "cdouble",
    "float8_e4m3fn",
    "float8_e5m2",
    "float8_e4m3fnuz",
    "float8_e5m2fnuz",
    "uint16",
    "uint32",
    "uint64",
    "qint8",
    "quint8",
    "qint32",
    "quint4x2",
    "strided",
    "sparse_coo",
    "sparse_csr",
    "_mkldnn",
    "per_tensor_affine",
    "per_channel_affine",
    "per_tensor_symmetric",
    "per_channel_symmetric",
    "contiguous_format",
    "channels_last",
    "channels_last_3d",
    "preserve_format",
];

/// `torch.<X>Storage` classes.
const TORCH_STORAGES: &[&str] = &[
    "FloatStorage",
    "DoubleStorage",
    "HalfStorage",
    "BFloat16Storage",
    "LongStorage",
    "IntStorage",
    "ShortStorage",
    "CharStorage",
    "ByteStorage",
    "BoolStorage",
    "ComplexFloatStorage",
    "ComplexDoubleStorage",
    "QInt8Storage",
    "QUInt8Storage",
    "QInt32Storage",
    "QUInt4x2Storage",
    "QUInt2x4Storage",
    "UntypedStorage",
    "TypedStorage",
];

fn matches_prefix(full: &str, prefix: &str) -> bool {
    full == prefix || (full.starts_with(prefix) && full.as_bytes().get(prefix.len()) == Some(&b'.'))
}

/// Whether `s` looks like a dotted Python identifier path.
pub fn is_dotted_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

/// Judges one import. `module` and `name` are taken verbatim from the pickle.
pub fn judge(module: &str, name: &str) -> Judgement {
    let module = normalize_module(module);
    let full = format!("{module}.{name}");
    for (prefix, sev, why) in DENY {
        if matches_prefix(&full, prefix) {
            return Judgement::Denied(*sev, why);
        }
    }
    if ALLOW.contains(&full.as_str()) {
        return Judgement::Allowed;
    }
    if module == "torch" && (TORCH_ATTRS.contains(&name) || TORCH_STORAGES.contains(&name)) {
        return Judgement::Allowed;
    }
    let class_like = name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && !name.contains('.');
    if class_like && ALLOW_CLASS_PREFIXES.iter().any(|p| matches_prefix(&module, p)) {
        return Judgement::Allowed;
    }
    if ALLOW_CLASSES
        .iter()
        .any(|(m, classes)| *m == module && classes.contains(&name))
    {
        return Judgement::Allowed;
    }
    Judgement::Unknown
}

/// Byte size of one element of a legacy `torch.<X>Storage` (used to skip raw storage data).
pub fn torch_storage_element_size(name: &str) -> Option<u64> {
    Some(match name {
        "FloatStorage" | "IntStorage" | "QInt32Storage" => 4,
        "DoubleStorage" | "LongStorage" | "ComplexFloatStorage" => 8,
        "HalfStorage" | "BFloat16Storage" | "ShortStorage" => 2,
        "CharStorage" | "ByteStorage" | "BoolStorage" | "QInt8Storage" | "QUInt8Storage"
        | "QUInt4x2Storage" | "QUInt2x4Storage" | "UntypedStorage" => 1,
        "ComplexDoubleStorage" => 16,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_prefixes() {
        assert!(matches!(
            judge("posix", "system"),
            Judgement::Denied(Severity::Critical, _)
        ));
        assert!(matches!(
            judge("__builtin__", "eval"),
            Judgement::Denied(Severity::Critical, _)
        ));
        assert!(matches!(judge("bdb", "Bdb.run"), Judgement::Denied(..)));
        assert!(matches!(
            judge("torch.utils.collect_env", "run"),
            Judgement::Denied(..)
        ));
        // A prefix must end on a dot boundary: "osmium" is not "os".
        assert_eq!(judge("osmium", "thing"), Judgement::Unknown);
        assert_eq!(judge("torch._utils", "_rebuild_tensor_v2"), Judgement::Allowed);
        assert_eq!(judge("torch", "FloatStorage"), Judgement::Allowed);
        assert_eq!(judge("torch", "_utils"), Judgement::Unknown);
        assert_eq!(judge("copy_reg", "_reconstructor"), Judgement::Allowed);
        assert_eq!(
            judge("sklearn.linear_model._base", "LinearRegression"),
            Judgement::Allowed
        );
        assert_eq!(judge("sklearn.utils", "some_function"), Judgement::Unknown);
        assert_eq!(judge("torch.nn.modules.linear", "Linear"), Judgement::Allowed);
        assert_eq!(
            judge("torch.nn.modules.container", "Sequential"),
            Judgement::Allowed
        );
        assert_eq!(judge("sklearn.pipeline", "Pipeline"), Judgement::Allowed);
    }

    /// The `sklearn` and `torch.nn.modules` entries name model classes, not whole packages: a
    /// capitalised name that is not one of them is not allowed for living there.
    #[test]
    fn made_up_classes_under_model_packages_are_unknown() {
        for (module, name) in [
            ("sklearn.linear_model._base", "LinearBackdoor"),
            ("sklearn.utils", "Exec"),
            ("sklearn", "Payload"),
            ("torch.nn.modules.linear", "Evil"),
            ("torch.nn.modules", "Loader"),
            ("torch.nn.modules.module", "Hook"),
        ] {
            assert_eq!(judge(module, name), Judgement::Unknown, "{module}.{name}");
        }
        assert_eq!(judge("uuid", "UUID"), Judgement::Allowed);
        assert!(matches!(
            judge("uuid", "_get_command_stdout"),
            Judgement::Denied(..)
        ));
    }

    #[test]
    fn identifiers() {
        assert!(is_dotted_identifier("torch._utils"));
        assert!(!is_dotted_identifier("echo \"pwned\""));
        assert!(!is_dotted_identifier("a..b"));
        assert!(!is_dotted_identifier(""));
    }
}
