//! Compact JSON for the log lines, byte for byte what `serde_json::to_writer`
//! writes, with a faster string path.
//!
//! serde_json escapes a string one byte at a time and hands every clean run
//! to its writer apart; a log line is mostly short keys and values
//! (`"source.ip"`, addresses, times written through `Display` in many small
//! pieces), so that per-byte loop and the per-run copies were 17 % of the
//! instructions of a run on many short connections. Strings here go
//! through [`netsec_model::json_text`] (eight bytes at a time, clean runs
//! copied whole). Numbers are written by serde_json itself, so they cannot
//! differ.

use std::fmt::{self, Display};

use netsec_model::json_text::escape_json_into;
use serde::ser::{self, Impossible, Serialize};

/// Append `value` to `out` as one line of compact JSON (no newline). On an
/// error (a `Serialize` impl that fails, a map key that is not a string or
/// a number) `out` may hold part of the value: the caller truncates it.
pub fn to_vec<T: ?Sized + Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(Writer { out })
}

/// A value that could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

#[inline]
fn write_str(out: &mut Vec<u8>, s: &str) {
    netsec_model::json_text::push_json_str(out, s);
}

/// `Display` output escaped straight into the line, as serde_json's
/// `collect_str` does, without building a `String`.
fn write_display<T: ?Sized + Display>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    struct Escaping<'a>(&'a mut Vec<u8>);
    impl fmt::Write for Escaping<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            escape_json_into(self.0, s);
            Ok(())
        }
    }
    out.push(b'"');
    fmt::write(&mut Escaping(out), format_args!("{value}"))
        .map_err(|_| Error("a Display implementation returned an error".into()))?;
    out.push(b'"');
    Ok(())
}

/// A number, as serde_json writes it.
fn write_number<T: Serialize>(out: &mut Vec<u8>, n: T) -> Result<(), Error> {
    serde_json::to_writer(out, &n).map_err(|e| Error(e.to_string()))
}

/// The serializer of one value.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

/// An array or object being written: `first` until its first element.
pub struct Compound<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    /// Closing bytes: `]`, `}`, or `]}` / `}}` for an enum variant's.
    close: &'static [u8],
}

impl Compound<'_> {
    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.out.push(b',');
        }
    }
}

macro_rules! numbers {
    ($($name:ident: $t:ty),*) => {
        $(fn $name(self, v: $t) -> Result<(), Error> {
            write_number(self.out, v)
        })*
    };
}

/// What a value and a map key write alike: text, a unit variant's name,
/// what a newtype wraps.
macro_rules! text_methods {
    () => {
        fn serialize_str(self, v: &str) -> Result<(), Error> {
            write_str(self.out, v);
            Ok(())
        }

        fn serialize_char(self, v: char) -> Result<(), Error> {
            write_str(self.out, v.encode_utf8(&mut [0; 4]));
            Ok(())
        }

        fn serialize_unit_variant(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
        ) -> Result<(), Error> {
            self.serialize_str(variant)
        }

        fn serialize_newtype_struct<T: ?Sized + Serialize>(
            self,
            _name: &'static str,
            value: &T,
        ) -> Result<(), Error> {
            value.serialize(self)
        }

        fn collect_str<T: ?Sized + Display>(self, value: &T) -> Result<(), Error> {
            write_display(self.out, value)
        }
    };
}

impl<'a> ser::Serializer for Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    text_methods!();

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    numbers!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128, serialize_f32: f32, serialize_f64: f64
    );

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        write_number(self.out, v)
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
        value.serialize(Writer { out: self.out })?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(open(self.out, b"[", b"]", len))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
        Ok(open(self.out, b"[", b"]}", Some(len)))
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(open(self.out, b"{", b"}", len))
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a>, Error> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
        Ok(open(self.out, b"{", b"}}", Some(len)))
    }
}

/// Open an array or object; one known to be empty is closed at once, as
/// serde_json does (its `end` then writes nothing).
fn open<'a>(
    out: &'a mut Vec<u8>,
    open: &'static [u8],
    close: &'static [u8],
    len: Option<usize>,
) -> Compound<'a> {
    out.extend_from_slice(open);
    if len == Some(0) {
        // Its own closing byte now, an enclosing variant's at the end.
        out.extend_from_slice(close.get(..1).unwrap_or(&[]));
        return Compound {
            out,
            first: true,
            close: close.get(1..).unwrap_or(&[]),
        };
    }
    Compound {
        out,
        first: true,
        close,
    }
}

/// An `impl ser::$kind for Compound` with its `Ok`, `Error` and `end`
/// (every array and object closes the same way) around the given methods.
macro_rules! compound {
    ($($kind:ident { $($method:item)* })*) => {
        $(impl ser::$kind for Compound<'_> {
            type Ok = ();
            type Error = Error;

            $($method)*

            fn end(self) -> Result<(), Error> {
                self.out.extend_from_slice(self.close);
                Ok(())
            }
        })*
    };
}

compound! {
    SerializeSeq {
        fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
            self.comma();
            value.serialize(Writer { out: self.out })
        }
    }
    SerializeTuple {
        fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
            ser::SerializeSeq::serialize_element(self, value)
        }
    }
    SerializeTupleStruct {
        fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
            ser::SerializeSeq::serialize_element(self, value)
        }
    }
    SerializeTupleVariant {
        fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
            ser::SerializeSeq::serialize_element(self, value)
        }
    }
    SerializeMap {
        fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
            self.comma();
            key.serialize(KeyWriter { out: self.out })
        }

        fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
            self.out.push(b':');
            value.serialize(Writer { out: self.out })
        }
    }
    SerializeStruct {
        fn serialize_field<T: ?Sized + Serialize>(
            &mut self,
            key: &'static str,
            value: &T,
        ) -> Result<(), Error> {
            self.comma();
            write_str(self.out, key);
            self.out.push(b':');
            value.serialize(Writer { out: self.out })
        }
    }
    SerializeStructVariant {
        fn serialize_field<T: ?Sized + Serialize>(
            &mut self,
            key: &'static str,
            value: &T,
        ) -> Result<(), Error> {
            ser::SerializeStruct::serialize_field(self, key, value)
        }
    }
}

/// A float as a map key: quoted, and only when finite (serde_json's rule).
fn float_key<T: Serialize>(out: &mut Vec<u8>, v: T, finite: bool) -> Result<(), Error> {
    if !finite {
        return Err(Error("float key must be finite (got NaN or +/-inf)".into()));
    }
    out.push(b'"');
    write_number(out, v)?;
    out.push(b'"');
    Ok(())
}

/// A map key: a string, or a number or bool written as a string, as
/// serde_json allows; anything else is an error, as there.
struct KeyWriter<'a> {
    out: &'a mut Vec<u8>,
}

fn key_must_be_a_string() -> Error {
    Error("key must be a string".into())
}

macro_rules! quoted_numbers {
    ($($name:ident: $t:ty),*) => {
        $(fn $name(self, v: $t) -> Result<(), Error> {
            self.out.push(b'"');
            write_number(self.out, v)?;
            self.out.push(b'"');
            Ok(())
        })*
    };
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    text_methods!();

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"\"true\"" } else { b"\"false\"" });
        Ok(())
    }

    quoted_numbers!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128
    );

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        float_key(self.out, v, v.is_finite())
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        float_key(self.out, v, v.is_finite())
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _value: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    fn ours<T: ?Sized + Serialize>(v: &T) -> String {
        let mut out = Vec::new();
        to_vec(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn same<T: ?Sized + Serialize>(v: &T) {
        assert_eq!(ours(v), serde_json::to_string(v).unwrap());
    }

    #[test]
    fn every_byte_value_escapes_as_serde_json_does() {
        for b in 0..=255u8 {
            let c = char::from(b);
            // Alone, at each place of an 8-byte chunk, and between clean runs
            // longer than a chunk.
            same(&c.to_string());
            same(&c);
            // In strings of up to eight bytes (the short path) and just over.
            for text in ["ab", "abcdefg", "abcdefgh"] {
                same(&format!("{text}{c}"));
                same(&format!("{c}{text}"));
            }
            for at in 0..9 {
                let mut s = "abcdefgh".repeat(2);
                s.insert(at, c);
                same(&s);
            }
            // At every place of strings of every length up to and past the
            // short path (eight bytes) and the word-wise scan (16 and up).
            for len in 1..=18 {
                for at in 0..len {
                    let mut s = "klmnopqrstuvwxyzab".get(..len - 1).unwrap().to_string();
                    s.insert(at, c);
                    same(&s);
                }
            }
            // As a map key and through `Display`.
            same(&BTreeMap::from([(c.to_string(), 1)]));
            struct Shown(char);
            impl Serialize for Shown {
                fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    s.collect_str(&format_args!("x{}y", self.0))
                }
            }
            same(&Shown(c));
        }
        // Every control byte in one string, and multi-byte characters.
        let all: String = (0..=0x7fu8).map(char::from).collect();
        same(&all);
        same("\u{2028}\u{2029}é€😀\u{7f}");
    }

    #[test]
    fn invalid_utf8_is_written_as_its_lossy_text_as_before() {
        // Log fields hold text decoded with `from_utf8_lossy`: U+FFFD.
        let raw = [b'a', 0xff, b'"', 0xc3, 0x28, 0x00, 0xe2, 0x82];
        same(&String::from_utf8_lossy(&raw));
        same(&raw[..]);
    }

    #[test]
    fn every_shape_of_value_as_serde_json() {
        #[derive(Serialize)]
        enum E {
            Unit,
            New(u8),
            Tuple(u8, i64),
            Struct { a: f64, b: Option<&'static str> },
        }
        #[derive(Serialize)]
        enum E2 {
            Empty {},
            T(),
        }
        #[derive(Serialize)]
        struct Inner {
            x: u128,
        }
        #[derive(Serialize)]
        struct S {
            a: Vec<E>,
            empty: Vec<u8>,
            empty_map: BTreeMap<String, u8>,
            empty_variant: E2,
            empty_tuple_variant: E2,
            t: (bool, char, f32, f64, f64),
            #[serde(flatten)]
            inner: Inner,
            keys: BTreeMap<i32, &'static str>,
            bool_keys: BTreeMap<bool, ()>,
            unit: (),
            bytes: serde_bytes_like::Bytes,
        }
        mod serde_bytes_like {
            pub struct Bytes(pub Vec<u8>);
            impl serde::Serialize for Bytes {
                fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    s.serialize_bytes(&self.0)
                }
            }
        }
        same(&S {
            a: vec![
                E::Unit,
                E::New(7),
                E::Tuple(1, -2),
                E::Struct {
                    a: 0.1,
                    b: Some("q\""),
                },
                E::Struct { a: 1e300, b: None },
            ],
            empty: vec![],
            empty_map: BTreeMap::new(),
            empty_variant: E2::Empty {},
            empty_tuple_variant: E2::T(),
            t: (true, '\n', 1.5, f64::NAN, -0.0),
            inner: Inner { x: u128::MAX },
            keys: BTreeMap::from([(-1, "a"), (2, "b")]),
            bool_keys: BTreeMap::from([(true, ()), (false, ())]),
            unit: (),
            bytes: serde_bytes_like::Bytes(vec![0, 255, 34]),
        });
        // Non-string keys serde_json refuses are refused.
        let mut out = Vec::new();
        assert!(to_vec(&mut out, &BTreeMap::from([(vec![1u8], 1)])).is_err());
    }
}
