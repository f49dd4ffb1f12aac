"""Torchloom's Qt front end: a thin view over engine objects. Nothing here yet but the
package; the canvas arrives with issue 5."""
