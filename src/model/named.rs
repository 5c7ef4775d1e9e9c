//! Enums whose variants have stable kebab-case ids, each id written once.

/// Defines an enum whose variants each have a stable kebab-case id, written once: serde's
/// name for the variant, `id()`, `from_id()` and `ALL` all come from it.
macro_rules! named {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$doc:meta])* $variant:ident = $id:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub enum $name {
            $($(#[$doc])* #[serde(rename = $id)] $variant,)*
        }

        impl $name {
            /// Every one, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// Its stable id.
            pub fn id(self) -> &'static str {
                match self {
                    $($name::$variant => $id,)*
                }
            }

            /// The one with this id.
            pub fn from_id(id: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|k| k.id() == id)
            }
        }
    };
}
pub(crate) use named;
